// Test helpers for the host op kernels: guarded host buffers, typed fills, fp64 comparisons.
#pragma once

#include "host/dtype.hpp"
#include "host/kernels.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace dshal::host::test {

constexpr uint8_t kPattern = 0xA5;  // every byte of a fresh buffer, guards included
constexpr uint64_t kGuardBytes = 64;

// A HostBuffer with guard bytes on both sides. Fresh contents are all kPattern, so that bytes a
// kernel must not write can be checked afterwards.
class Buffer {
 public:
  explicit Buffer(uint64_t bytes) : storage_(bytes + 2 * kGuardBytes, std::byte{kPattern}) {
    host_.data = storage_.data() + kGuardBytes;
    host_.size = bytes;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  dshal_buffer handle() { return as_handle(&host_); }
  std::byte* data() { return storage_.data() + kGuardBytes; }
  uint64_t size() const { return host_.size; }
  template <typename T>
  T* as(uint64_t offset = 0) { return reinterpret_cast<T*>(data() + offset); }

  bool guards_intact() const {
    for (uint64_t i = 0; i < kGuardBytes; ++i)
      if (storage_[i] != std::byte{kPattern} || storage_[storage_.size() - 1 - i] != std::byte{kPattern}) return false;
    return true;
  }
  std::vector<std::byte> snapshot() const { return {storage_.begin() + kGuardBytes, storage_.end() - kGuardBytes}; }

 private:
  std::vector<std::byte> storage_;
  HostBuffer host_;
};

// Marks which bytes of a buffer an op may write; everything else must keep its snapshot value.
class WriteMask {
 public:
  explicit WriteMask(uint64_t bytes) : allowed_(bytes, false) {}
  void allow(uint64_t offset, uint64_t bytes) {
    for (uint64_t i = 0; i < bytes; ++i) allowed_.at(offset + i) = true;
  }
  // Rows [0, rows) of `cols` elements of `elem_bytes`, rows `ld` elements apart, from byte offset.
  void allow_rows(uint64_t offset, uint64_t rows, uint64_t cols, uint64_t ld, uint64_t elem_bytes) {
    for (uint64_t r = 0; r < rows; ++r) allow(offset + r * ld * elem_bytes, cols * elem_bytes);
  }
  void expect_only_allowed_changed(Buffer& buf, const std::vector<std::byte>& before) const {
    ASSERT_TRUE(buf.guards_intact()) << "guard bytes around the buffer were overwritten";
    const std::byte* now = buf.data();
    for (uint64_t i = 0; i < allowed_.size(); ++i)
      if (!allowed_[i] && now[i] != before[i]) {
        ADD_FAILURE() << "byte " << i << " outside the output range was written";
        return;
      }
  }

 private:
  std::vector<bool> allowed_;
};

// The start of the next region of a test buffer: gap bytes past end, aligned to 4 bytes so that every
// array is aligned to its element size (kernels may assume it; hal does not check alignment).
inline uint64_t after(uint64_t end, uint64_t gap = 8) { return (end + gap + 3) / 4 * 4; }

inline std::mt19937& rng() {
  static std::mt19937 gen(12345);
  return gen;
}
inline float uniform(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng()); }

// Writes v (rounded to t) at element i of the array at p; returns the value actually stored.
inline double put(void* p, dshal_dtype t, uint64_t i, float v) {
  store_f32(p, t, i, v);
  return load_f32(p, t, i);
}
inline double get(const void* p, dshal_dtype t, uint64_t i) { return load_f32(p, t, i); }

// One unit in the last place of bf16 / f16 at the magnitude of x.
inline double ulp(dshal_dtype t, double x) {
  const int mantissa = t == DSHAL_DTYPE_BF16 ? 7 : t == DSHAL_DTYPE_F16 ? 10 : 23;
  const double a = std::fabs(x);
  if (t == DSHAL_DTYPE_F16 && a < std::ldexp(1.0, -14)) return std::ldexp(1.0, -24);
  if (a < 1e-38) return std::ldexp(1.0, -149);
  int e;
  std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  return std::ldexp(1.0, e - 1 - mantissa);
}

// Accumulates a comparison of kernel outputs against an fp64 reference. For f32 outputs the
// max-abs error must stay within rel_tol * max |ref| (ref magnitude over the whole output); for
// bf16 / f16 outputs each element within one ulp of its reference.
class Compare {
 public:
  Compare(dshal_dtype t, double rel_tol) : type_(t), rel_tol_(rel_tol) {}
  // where: the element's indices, for the failure message.
  void add(double got, double ref, std::initializer_list<uint64_t> where) {
    ++count_;
    magnitude_ = std::max(magnitude_, std::fabs(ref));
    const double err = std::fabs(got - ref);
    if (!(err <= max_err_) && !std::isnan(max_err_)) {  // NaN errors stick
      max_err_ = err;
      worst_ = describe(got, ref, where);
    }
    if (type_ != DSHAL_DTYPE_F32 && !(err <= ulp(type_, ref)) && ulp_fail_.empty())
      ulp_fail_ = describe(got, ref, where) + " (more than one ulp)";
  }
  void expect_ok() const {
    ASSERT_GT(count_, 0u);
    if (type_ == DSHAL_DTYPE_F32) {
      EXPECT_LE(max_err_, rel_tol_ * std::max(magnitude_, 1e-30)) << "worst at " << worst_ << ", magnitude "
                                                                   << magnitude_;
    } else {
      EXPECT_TRUE(ulp_fail_.empty()) << ulp_fail_;
    }
  }
  double max_err() const { return max_err_; }
  void set_rel_tol(double rel_tol) { rel_tol_ = rel_tol; }

 private:
  static std::string describe(double got, double ref, std::initializer_list<uint64_t> where) {
    std::ostringstream s;
    s.precision(9);
    for (uint64_t i : where) s << '[' << i << ']';
    s << ": got " << got << ", ref " << ref;
    return s.str();
  }

  dshal_dtype type_;
  double rel_tol_;
  uint64_t count_ = 0;
  double magnitude_ = 0, max_err_ = 0;
  std::string worst_, ulp_fail_;
};

// Streams every argument into one string (for SCOPED_TRACE and messages).
template <typename... Args>
std::string cat(const Args&... args) {
  std::ostringstream s;
  (s << ... << args);
  return s.str();
}

}  // namespace dshal::host::test
