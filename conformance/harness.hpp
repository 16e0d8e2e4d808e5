// What every conformance case uses: the device under test (cached for the run, so fallback counts
// add up), typed upload/download, guard bytes around outputs, and comparison against fp64
// references with tolerances that a case records for the report.
#pragma once

#include <dshal/dshal.hpp>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace dshal::conformance {

// The device ids a run covers; set before testing::InitGoogleTest (parameters are generated then).
void set_device_ids(std::vector<std::string> ids);
const std::vector<std::string>& device_ids();
// "cpu:0" -> "cpu_0" for test names.
std::string param_name(const testing::TestParamInfo<std::string>& info);

// The device with this id, opened once per run, and its default stream.
const Device& device(const std::string& id);
const Stream& stream(const std::string& id);
// Every device of the same backend as id ("cpu:0" -> cpu:0 ... cpu:N-1), for collectives.
std::vector<std::string> sibling_ids(const std::string& id);
// Releases every cached device (end of run); fallback counts are read before.
void close_devices();

#define DSHAL_ASSERT_OK(expr)                          \
  do {                                                 \
    const ::dshal::Status s_ = (expr);                 \
    ASSERT_TRUE(s_.ok()) << #expr << ": " << s_.to_string(); \
  } while (0)
#define DSHAL_EXPECT_CODE(expr, expected)                                                         \
  do {                                                                                            \
    const ::dshal::Status s_ = (expr);                                                            \
    EXPECT_EQ(s_.code(), expected) << #expr << " gave " << s_.to_string() << ", expected "        \
                                   << ::dshal::status_name(expected);                             \
    if (s_.code() == expected) { EXPECT_FALSE(s_.message().empty()) << "an error needs a message"; } \
  } while (0)

// Host bytes -> a new device buffer (synchronous).
Buffer upload_bytes(const std::string& id, const void* data, uint64_t bytes);
template <typename T>
Buffer upload(const std::string& id, const std::vector<T>& v) {
  return upload_bytes(id, v.data(), v.size() * sizeof(T));
}
// Device bytes -> host (synchronous); fails the test on error.
std::vector<std::byte> download_bytes(const std::string& id, const Buffer& b, uint64_t offset, uint64_t bytes);
template <typename T>
std::vector<T> download(const std::string& id, const Buffer& b, uint64_t offset, uint64_t count) {
  std::vector<std::byte> raw = download_bytes(id, b, offset, count * sizeof(T));
  std::vector<T> v(count);
  if (!raw.empty()) std::memcpy(v.data(), raw.data(), raw.size());
  return v;
}

// An output buffer with guard bytes on both sides: the op writes at offset(); check() fails the test
// when anything outside [offset, offset + bytes) changed.
class Guarded {
 public:
  static constexpr uint64_t kGuard = 256;
  static constexpr uint8_t kPattern = 0xA5;
  Guarded(const std::string& id, uint64_t bytes, uint8_t fill = 0);
  const Buffer& buffer() const { return buffer_; }
  dshal_buffer handle() const { return buffer_.handle(); }
  uint64_t offset() const { return kGuard; }
  uint64_t bytes() const { return bytes_; }
  // Checks the guards and returns the payload.
  std::vector<std::byte> read_checked() const;
  template <typename T>
  std::vector<T> read() const {
    std::vector<std::byte> raw = read_checked();
    std::vector<T> v(raw.size() / sizeof(T));
    if (!raw.empty()) std::memcpy(v.data(), raw.data(), v.size() * sizeof(T));
    return v;
  }

 private:
  std::string id_;
  uint64_t bytes_;
  Buffer buffer_;
};

// Errors of got against an fp64 reference; bound[i] is the allowed |error| of element i.
struct Comparison {
  double max_abs_err = 0;
  double max_rel_err = 0;
  double nmse = 0;
  double worst_ratio = 0;       // max |err| / bound: <= 1 passes
  double tolerance = 0;         // the bound where the ratio is worst
  uint64_t worst_index = 0;
  uint64_t nonfinite = 0;       // NaN or Inf where the reference is finite
};
Comparison compare(const std::vector<double>& ref, const std::vector<float>& got, const std::vector<double>& bound);
// Records the comparison for the report and fails the test when it does not pass.
void expect_within(const Comparison& c, const std::string& what);

// Deterministic test data: uniform in [-1, 1), rounded to dtype when given.
std::vector<float> random_values(uint64_t n, uint64_t seed, dshal_dtype round_to = DSHAL_DTYPE_F32);
// f32 values -> the bytes of dtype (f32, f16, bf16).
std::vector<std::byte> encode(const std::vector<float>& v, dshal_dtype t);
std::vector<float> decode(const std::vector<std::byte>& raw, dshal_dtype t);

// Tests value-parameterized over the run's device ids.
class DeviceTest : public testing::TestWithParam<std::string> {
 protected:
  const std::string& id() const { return GetParam(); }
  const Device& dev() const { return device(id()); }
  const Stream& str() const { return stream(id()); }
};

#define DSHAL_INSTANTIATE(tier, suite) \
  INSTANTIATE_TEST_SUITE_P(tier, suite, testing::ValuesIn(::dshal::conformance::device_ids()), \
                           ::dshal::conformance::param_name)

}  // namespace dshal::conformance
