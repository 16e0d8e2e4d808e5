// Helpers the rope / softmax / elementwise / embedding bodies need beyond hd.hpp (kept here so
// hd.hpp stays untouched): a product nvcc may not fuse into an FMA, a bit copy of one element, the
// fp8 e4m3 conversions and a load that also reads I32 / U8 (as hal/host/dtype.hpp's load_f32).
#pragma once

#include "hd.hpp"

namespace dshal::cuda::kernels {

// a * b rounded on its own. nvcc contracts a * b - c into one FMA by default, which would round
// differently from hal/host (built for baseline x86-64, no FMA); __fmul_rn is never contracted.
DSHAL_HD inline float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

// Element i of src copied to element j of dst, bits unchanged (a same-type gather or cast keeps
// NaN payloads, which a round trip through f32 would not for f16).
DSHAL_HD inline void copy_elem(void* dst, uint64_t j, const void* src, uint64_t i, dshal_dtype t) {
  const uint64_t n = elem_bytes(t);
  const char* s = static_cast<const char*>(src) + i * n;
  char* d = static_cast<char*>(dst) + j * n;
  for (uint64_t k = 0; k < n; ++k) d[k] = s[k];
}

// OCP fp8 e4m3fn (no infinities, S.1111.111 is NaN, max 448), as hal/host/dtype.hpp.
DSHAL_HD inline float fp8_e4m3_to_f32(uint8_t v) {
  const uint32_t sign = uint32_t(v & 0x80u) << 24, exp = (v >> 3) & 0xfu, man = v & 0x7u;
  if (exp == 0xf && man == 0x7) return bits_to_f32(sign | 0x7fc00000u);
  if (exp != 0) return bits_to_f32(sign | ((exp + 120u) << 23) | (man << 20));
  const float mag = float(man) * (1.0f / 512.0f);  // subnormal: man * 2^-9
  return sign ? -mag : mag;
}
// Round to nearest even, saturating to +-448 (0x7e), NaN to 0x7f: by bits, the same results as
// hal/host's frexp / nearbyint version (tests/elementwise_embedding_test.cpp compares
// them on every f32 with its low 13 bits clear and on a stride through all of f32).
DSHAL_HD inline uint8_t f32_to_fp8_e4m3(float f) {
  const uint32_t u = f32_to_bits(f), abs = u & 0x7fffffffu;
  const uint8_t sign = uint8_t((u >> 24) & 0x80u);
  if (abs > 0x7f800000u) return 0x7f;
  if (abs >= 0x43e00000u) return uint8_t(sign | 0x7e);  // >= 448 (and infinity)
  if (abs < 0x3c800000u) {                              // below 2^-6, the smallest normal: step 2^-9
    const uint32_t e = abs >> 23;
    if (e < 117u) return sign;                          // below 2^-10, half a step (2^-10 itself ties to 0)
    const uint32_t man = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 141u - e;                    // value = man * 2^(e-150); in steps, man >> (141-e)
    const uint32_t q = man >> shift, rem = man & ((1u << shift) - 1u), half = 1u << (shift - 1);
    return uint8_t(sign | (q + (rem > half || (rem == half && (q & 1u)))));  // q == 8 is 2^-6 exactly
  }
  const uint32_t base = abs - (120u << 23);  // rebias 127 -> 7
  const uint32_t q = base >> 20, rem = base & 0xfffffu;
  // Below 448 the rounding carries at most to 0x7e (448): never into the NaN code.
  return uint8_t(sign | (q + (rem > 0x80000u || (rem == 0x80000u && (q & 1u)))));
}

// Element i of a typed array as f32, for every type hal/host's load_f32 reads but INT4.
DSHAL_HD inline float load_any(const void* p, dshal_dtype t, uint64_t i) {
  if (t == DSHAL_DTYPE_FP8_E4M3) return fp8_e4m3_to_f32(static_cast<const uint8_t*>(p)[i]);
  if (t == DSHAL_DTYPE_I32) return float(static_cast<const int32_t*>(p)[i]);
  if (t == DSHAL_DTYPE_U8) return float(static_cast<const uint8_t*>(p)[i]);
  return load(p, t, i);
}
// Stores v at element i of a float-typed array (F32, F16, BF16, FP8_E4M3).
DSHAL_HD inline void store_any(void* p, dshal_dtype t, uint64_t i, float v) {
  if (t == DSHAL_DTYPE_FP8_E4M3) static_cast<uint8_t*>(p)[i] = f32_to_fp8_e4m3(v);
  else store(p, t, i, v);
}

}  // namespace dshal::cuda::kernels
