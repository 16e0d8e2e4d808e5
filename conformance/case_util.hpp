// Small helpers shared by the conformance cases: dtype shorthands, f32 rounding bounds, skip
// reasons, case names, typed uploads and initialized guarded outputs.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "harness.hpp"
#include "host/dtype.hpp"

namespace dshal::conformance {

// Short names for the dtypes the cases are written in.
inline constexpr dshal_dtype F32 = DSHAL_DTYPE_F32, F16 = DSHAL_DTYPE_F16, BF16 = DSHAL_DTYPE_BF16,
                             FP8 = DSHAL_DTYPE_FP8_E4M3, INT4 = DSHAL_DTYPE_INT4;
// The f32 unit roundoff u = 2^-24.
inline constexpr double kU = 0x1p-24;

// Relative rounding of a result stored as t (2^-24 f32, 2^-8 bf16, 2^-11 f16).
inline double out_rounding(dshal_dtype t) { return t == F32 ? 0x1p-24 : t == BF16 ? 0x1p-8 : 0x1p-11; }
// Absolute rounding of a result stored as t (2^-25 for f16 subnormals, else 0).
inline double out_abs(dshal_dtype t) { return t == F16 ? 0x1p-25 : 0.0; }
// Bound on a length-k f32 dot product with sum of |terms| mag and result ref, stored as ct.
inline double dot_bound(uint64_t k, double mag, double ref, dshal_dtype ct) {
  return 2.0 * double(k + 2) * kU * mag + out_rounding(ct) * std::fabs(ref) + out_abs(ct);
}

// Why dev cannot run a case with these storage types ("" when it can): the GTEST_SKIP reason.
inline std::string missing_storage(const Device& dev, std::initializer_list<dshal_dtype> types) {
  for (dshal_dtype t : types)
    if (!(dev.properties().storage_dtypes & DSHAL_DTYPE_BIT(t))) return fmt::format("{} has no {} storage", dev.id(), dtype_name(t));
  return "";
}

// Test name "<device>_<case name>" for suites parameterized over (device id, Case with a name).
template <typename Case>
std::string case_name(const testing::TestParamInfo<std::tuple<std::string, Case>>& info) {
  return param_name({std::get<0>(info.param), info.index}) + "_" + std::get<1>(info.param).name;
}

// f32 values -> a new device buffer holding them as dtype t.
inline Buffer upload_as(const std::string& id, const std::vector<float>& v, dshal_dtype t) {
  const std::vector<std::byte> raw = encode(v, t);
  return upload_bytes(id, raw.data(), raw.size());
}

// A Guarded output whose payload starts as given: raw bytes, or f32 values v0 encoded as t.
struct GuardedInit {
  std::vector<float> v0;        // the initial values (the values constructor only)
  std::vector<std::byte> raw0;  // the initial bytes
  Guarded buf;
  GuardedInit(const std::string& id, std::vector<std::byte> raw) : raw0(std::move(raw)), buf(id, raw0.size()) {
    if (raw0.empty()) return;
    write_initial(id);
  }
  GuardedInit(const std::string& id, std::vector<float> v, dshal_dtype t)
      : v0(std::move(v)), raw0(encode(v0, t)), buf(id, storage_bytes(t, v0.size())) {
    write_initial(id);
  }
  template <typename T>
  static std::vector<std::byte> bytes_of(const std::vector<T>& v) {
    std::vector<std::byte> b(v.size() * sizeof(T));
    if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
    return b;
  }
  dshal_tensor view(dshal_dtype t, uint64_t ld) const { return tensor(buf.buffer(), t, ld, buf.offset()); }
  dshal_buffer_ref at() const { return dshal_buffer_ref{buf.handle(), buf.offset()}; }

 private:
  void write_initial(const std::string& id) {
    Status st = stream(id).copy_h2d(raw0.data(), buf.buffer(), buf.offset(), raw0.size());
    if (st.ok()) st = stream(id).synchronize();
    EXPECT_TRUE(st.ok()) << st.to_string();
  }
};

// Equal bit patterns, or both NaN.
inline bool same_bits(float a, float b) { return std::memcmp(&a, &b, 4) == 0 || (std::isnan(a) && std::isnan(b)); }

}  // namespace dshal::conformance
