// Element conversions between f32 and dshal's storage types, shared by host kernels, the fallback,
// the conformance references and the model loader.
#pragma once

#include <dshal/adapter.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace dshal {

// Bytes per element; INT4 reports 0 (two per byte: use storage_bytes).
constexpr uint32_t dtype_bytes(dshal_dtype t) {
  switch (t) {
    case DSHAL_DTYPE_F32: case DSHAL_DTYPE_I32: return 4;
    case DSHAL_DTYPE_F16: case DSHAL_DTYPE_BF16: return 2;
    case DSHAL_DTYPE_FP8_E4M3: case DSHAL_DTYPE_U8: return 1;
    default: return 0;
  }
}

// Bytes taken by count elements (rounded up for INT4).
constexpr uint64_t storage_bytes(dshal_dtype t, uint64_t count) {
  return t == DSHAL_DTYPE_INT4 ? (count + 1) / 2 : count * dtype_bytes(t);
}

constexpr const char* dtype_name(dshal_dtype t) {
  switch (t) {
    case DSHAL_DTYPE_F32: return "f32";
    case DSHAL_DTYPE_F16: return "f16";
    case DSHAL_DTYPE_BF16: return "bf16";
    case DSHAL_DTYPE_FP8_E4M3: return "fp8";
    case DSHAL_DTYPE_INT4: return "int4";
    case DSHAL_DTYPE_I32: return "i32";
    case DSHAL_DTYPE_U8: return "u8";
    default: return "invalid";
  }
}

inline float bf16_to_f32(uint16_t h) { return std::bit_cast<float>(uint32_t(h) << 16); }

inline uint16_t f32_to_bf16(float f) {  // round to nearest even; NaN stays NaN
  uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

inline float f16_to_f32(uint16_t h) { return static_cast<float>(std::bit_cast<_Float16>(h)); }
inline uint16_t f32_to_f16(float f) { return std::bit_cast<uint16_t>(static_cast<_Float16>(f)); }

// OCP fp8 e4m3fn: bias 7, no infinities, S.1111.111 is NaN, max 448.
inline float fp8_e4m3_to_f32(uint8_t v) {
  const uint32_t sign = v >> 7, exp = (v >> 3) & 0xf, man = v & 0x7;
  float mag;
  if (exp == 0xf && man == 0x7) mag = NAN;
  else if (exp == 0) mag = std::ldexp(float(man), -9);  // subnormal: man/8 * 2^-6
  else mag = std::ldexp(1.0f + float(man) / 8.0f, int(exp) - 7);
  return sign ? -mag : mag;
}

// Round to nearest even, saturating to +-448 (as torch's float8_e4m3fn conversion of finite values).
inline uint8_t f32_to_fp8_e4m3(float f) {
  if (std::isnan(f)) return 0x7f;
  const uint8_t sign = std::signbit(f) ? 0x80 : 0;
  float a = std::fabs(f);
  if (a >= 448.0f) return sign | 0x7e;
  int e;
  std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  int exp = e - 1 + 7;  // biased exponent of a = 1.x * 2^(e-1)
  float step = exp <= 0 ? std::ldexp(1.0f, -9) : std::ldexp(1.0f, e - 1 - 3);
  float q = std::nearbyint(a / step) * step;  // FE_TONEAREST: ties to even
  if (q >= 448.0f) return sign | 0x7e;
  if (q == 0.0f) return sign;
  std::frexp(q, &e);
  exp = e - 1 + 7;
  if (exp <= 0) return sign | uint8_t(std::lround(q / std::ldexp(1.0f, -9)));
  const uint32_t man = uint32_t(std::lround((q / std::ldexp(1.0f, e - 1) - 1.0f) * 8.0f));
  return sign | uint8_t(exp << 3) | uint8_t(man);
}

// Signed nibble i of a packed INT4 array (even index in the low nibble).
inline int int4_at(const uint8_t* p, uint64_t i) {
  const int nib = (p[i / 2] >> ((i & 1) * 4)) & 0xf;
  return nib >= 8 ? nib - 16 : nib;
}

// Element i of a typed array, as f32 (float types, I32 and U8).
inline float load_f32(const void* p, dshal_dtype t, uint64_t i) {
  switch (t) {
    case DSHAL_DTYPE_F32: return static_cast<const float*>(p)[i];
    case DSHAL_DTYPE_F16: return f16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DSHAL_DTYPE_BF16: return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DSHAL_DTYPE_FP8_E4M3: return fp8_e4m3_to_f32(static_cast<const uint8_t*>(p)[i]);
    case DSHAL_DTYPE_INT4: return float(int4_at(static_cast<const uint8_t*>(p), i));
    case DSHAL_DTYPE_I32: return float(static_cast<const int32_t*>(p)[i]);
    case DSHAL_DTYPE_U8: return float(static_cast<const uint8_t*>(p)[i]);
    default: return NAN;
  }
}

// Stores v at element i of a float-typed array (F32, F16, BF16, FP8_E4M3).
inline void store_f32(void* p, dshal_dtype t, uint64_t i, float v) {
  switch (t) {
    case DSHAL_DTYPE_F32: static_cast<float*>(p)[i] = v; break;
    case DSHAL_DTYPE_F16: static_cast<uint16_t*>(p)[i] = f32_to_f16(v); break;
    case DSHAL_DTYPE_BF16: static_cast<uint16_t*>(p)[i] = f32_to_bf16(v); break;
    case DSHAL_DTYPE_FP8_E4M3: static_cast<uint8_t*>(p)[i] = f32_to_fp8_e4m3(v); break;
    default: break;
  }
}

}  // namespace dshal
