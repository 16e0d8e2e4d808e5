// adapters/npu-sim/npu_dtype.cpp: element loads and stores for the cube's operand types, f16 / bf16
// <-> f32 with round-to-nearest-even on the way out (what the cube's fixpipe does when it writes a
// 16-bit result). bf16 subnormals are kept exact: adapter.h allows flushing them, it does not ask for it.
#include <cmath>
#include <cstring>

#include "npu_sim.hpp"

namespace npu_sim {
namespace {

// ---- f16 / bf16 conversions, round-to-nearest-even ---------------------------------------------

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

float bf16_to_f32(uint16_t h) { return float_of(uint32_t(h) << 16); }

uint16_t f32_to_bf16(float f) {
  const uint32_t u = bits_of(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40u);  // NaN stays NaN (quiet)
  return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);  // ties to the even upper half
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24, exact in f32
    const float magnitude = std::ldexp(float(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return float_of(sign | 0x7f800000u | (mantissa << 13));  // inf / NaN
  return float_of(sign | ((exponent + 112) << 23) | (mantissa << 13));         // rebias 15 -> 127
}

// Rounds the integer q + remainder / 2^shift to the nearest, ties to even.
uint32_t round_shifted(uint32_t value, uint32_t shift) {
  const uint32_t q = value >> shift, remainder = value & ((1u << shift) - 1), half = 1u << (shift - 1);
  return q + ((remainder > half || (remainder == half && (q & 1u))) ? 1u : 0u);
}

uint16_t f32_to_f16(float f) {
  const uint32_t u = bits_of(f);
  const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  const uint32_t x = u & 0x7fffffffu;
  if (x > 0x7f800000u) return sign | 0x7e00u;   // NaN
  if (x >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 rounds past 65504: infinity
  if (x < 0x33000000u) return sign;             // <= 2^-25 rounds to zero (2^-25 ties to even 0)
  if (x < 0x38800000u) {                        // below 2^-14: an f16 subnormal, units of 2^-24
    const uint32_t exponent = x >> 23, mantissa = (x & 0x7fffffu) | 0x800000u;
    return sign | uint16_t(round_shifted(mantissa, 126 - exponent));  // may round up to the smallest normal
  }
  // Normal: rebias 127 -> 15 and drop 13 mantissa bits; a carry into the exponent is still correct.
  return sign | uint16_t(round_shifted(x - 0x38000000u, 13));
}

}  // namespace

// ---- element access ----------------------------------------------------------------------------

float load_element(dshal_dtype dtype, const std::byte* base, uint64_t index) {
  switch (dtype) {
    case DSHAL_DTYPE_F16: {
      uint16_t h;
      std::memcpy(&h, base + 2 * index, 2);
      return f16_to_f32(h);
    }
    case DSHAL_DTYPE_BF16: {
      uint16_t h;
      std::memcpy(&h, base + 2 * index, 2);
      return bf16_to_f32(h);
    }
    default: {  // F32: activations and outputs (hal checks the type)
      float f;
      std::memcpy(&f, base + 4 * index, 4);
      return f;
    }
  }
}

void store_element(dshal_dtype dtype, std::byte* base, uint64_t index, float value) {
  switch (dtype) {
    case DSHAL_DTYPE_F16: {
      const uint16_t h = f32_to_f16(value);
      std::memcpy(base + 2 * index, &h, 2);
      return;
    }
    case DSHAL_DTYPE_BF16: {
      const uint16_t h = f32_to_bf16(value);
      std::memcpy(base + 2 * index, &h, 2);
      return;
    }
    default:
      std::memcpy(base + 4 * index, &value, 4);
  }
}

}  // namespace npu_sim
