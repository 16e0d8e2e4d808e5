// What every kernel's math shares, compiled by nvcc for the device and by the host compiler for
// the CPU tests: the __host__ __device__ marker, the launch index space, its host emulation, and
// element conversions (f16, bf16, fp8 e4m3, int4; bit-exact with hal/host/dtype.hpp), loads and stores.
//
// Each kernel is a __host__ __device__ "thread body" body(block, thread, args) over a LaunchShape;
// its __global__ wrapper (in the op's .cu file) only passes blockIdx / threadIdx in. The CPU tests
// run the same body over the same LaunchShape with for_each_thread, so indexing and numerics are
// tested without a GPU. Bodies use no shared memory and no barriers, which keeps that emulation
// exact: a thread reads only what no other thread of the launch writes.
#pragma once

#include <dshal/adapter.h>

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define DSHAL_HD __host__ __device__
#else
#define DSHAL_HD
#endif

namespace dshal::cuda::kernels {

struct Index3 {
  uint32_t x = 0, y = 0, z = 0;
};

// grid: blocks per dimension; block: threads per block per dimension.
struct LaunchShape {
  Index3 grid, block;
};

// Threads per block for a 1-D launch over n items, and the grid that covers them.
inline LaunchShape cover_1d(uint64_t n, uint32_t threads = 256) {
  const uint64_t blocks = (n + threads - 1) / threads;
  return {{uint32_t(blocks > 0 ? blocks : 1), 1, 1}, {threads, 1, 1}};
}

// The flat 1-D index of a thread.
DSHAL_HD inline uint64_t flat_x(Index3 block, Index3 thread, Index3 block_dim) {
  return uint64_t(block.x) * block_dim.x + thread.x;
}

// Host emulation of a launch: body(block, thread) for every thread, blocks then threads in order.
template <class Body>
void for_each_thread(const LaunchShape& s, Body&& body) {
  for (uint32_t bz = 0; bz < s.grid.z; ++bz)
    for (uint32_t by = 0; by < s.grid.y; ++by)
      for (uint32_t bx = 0; bx < s.grid.x; ++bx)
        for (uint32_t tz = 0; tz < s.block.z; ++tz)
          for (uint32_t ty = 0; ty < s.block.y; ++ty)
            for (uint32_t tx = 0; tx < s.block.x; ++tx) body(Index3{bx, by, bz}, Index3{tx, ty, tz});
}

// ---- element conversions (bit-exact with hal/host/dtype.hpp) ----

DSHAL_HD inline float bits_to_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}
DSHAL_HD inline uint32_t f32_to_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
DSHAL_HD inline float bf16_to_f32(uint16_t h) { return bits_to_f32(uint32_t(h) << 16); }
DSHAL_HD inline uint16_t f32_to_bf16(float f) {  // round to nearest even; NaN stays NaN
  uint32_t u = f32_to_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}
// IEEE half, by bits: subnormals, infinities and NaN; rounding to nearest even.
DSHAL_HD inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  if (exp == 0x1f) return bits_to_f32(sign | 0x7f800000u | (man << 13));
  if (exp != 0) return bits_to_f32(sign | ((exp + 112u) << 23) | (man << 13));
  if (man == 0) return bits_to_f32(sign);
  const float mag = float(man) * (1.0f / 16777216.0f);  // man * 2^-24
  return sign ? -mag : mag;
}
DSHAL_HD inline uint16_t f32_to_f16(float f) {
  const uint32_t u = f32_to_bits(f), sign = (u >> 16) & 0x8000u, abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return uint16_t(sign | 0x7e00u | ((abs >> 13) & 0x3ffu));  // NaN: quiet, payload kept
  if (abs >= 0x477ff000u) return uint16_t(sign | 0x7c00u);        // rounds to infinity
  if (abs < 0x38800000u) {                                       // below the smallest normal half
    const uint32_t shift = 126u - (abs >> 23);                    // 14 .. 126
    if (shift > 24) return uint16_t(sign);
    const uint32_t man = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t q = man >> shift, rem = man & ((1u << shift) - 1u), half = 1u << (shift - 1);
    return uint16_t(sign | (q + (rem > half || (rem == half && (q & 1u)))));
  }
  const uint32_t base = abs - 0x38000000u;  // rebias 127 -> 15
  const uint32_t q = base >> 13, rem = base & 0x1fffu;
  return uint16_t(sign | (q + (rem > 0x1000u || (rem == 0x1000u && (q & 1u)))));
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

// INT4 element i of packed nibbles (low nibble first), sign-extended.
DSHAL_HD inline int int4_at(const uint8_t* p, uint64_t i) {
  const int nib = (p[i / 2] >> ((i & 1) * 4)) & 0xf;
  return nib >= 8 ? nib - 16 : nib;
}

// Element i of a row of dtype t (F32, F16 or BF16), as f32.
DSHAL_HD inline float load(const void* p, dshal_dtype t, uint64_t i) {
  if (t == DSHAL_DTYPE_F32) return static_cast<const float*>(p)[i];
  const uint16_t h = static_cast<const uint16_t*>(p)[i];
  return t == DSHAL_DTYPE_BF16 ? bf16_to_f32(h) : f16_to_f32(h);
}
DSHAL_HD inline void store(void* p, dshal_dtype t, uint64_t i, float v) {
  if (t == DSHAL_DTYPE_F32) static_cast<float*>(p)[i] = v;
  else static_cast<uint16_t*>(p)[i] = t == DSHAL_DTYPE_BF16 ? f32_to_bf16(v) : f32_to_f16(v);
}
DSHAL_HD inline uint64_t elem_bytes(dshal_dtype t) { return t == DSHAL_DTYPE_F32 || t == DSHAL_DTYPE_I32 ? 4 : t == DSHAL_DTYPE_F16 || t == DSHAL_DTYPE_BF16 ? 2 : 1; }

// a * b and a + b rounded on their own. nvcc contracts a * b + c into one FMA by default, which
// rounds differently from hal/host (built without FMA); __fmul_rn / __fadd_rn are never contracted.
// Bodies whose results must be the host's bit for bit use these.
DSHAL_HD inline float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
DSHAL_HD inline float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

// Bad device-resident input found while running (an embedding id, a rope position, group offsets):
// the first report of a launch's threads wins; codes and words as in backends/device_status.hpp.
DSHAL_HD inline void report_status(int32_t* words, int32_t code, int32_t a, int32_t b, int32_t c) {
#if defined(__CUDA_ARCH__)
  if (atomicCAS(words, 0, code) != 0) return;
#else
  if (words[0] != 0) return;
  words[0] = code;
#endif
  words[1] = a;
  words[2] = b;
  words[3] = c;
}

// A row-major [rows][ld] operand: its base address (byte offset applied) and dtype.
struct Rows {
  const void* base = nullptr;
  dshal_dtype dtype = DSHAL_DTYPE_F32;
  uint64_t ld = 0;
  DSHAL_HD const void* row(uint64_t r) const {
    return static_cast<const char*>(base) + r * ld * elem_bytes(dtype);
  }
};
struct MutRows {
  void* base = nullptr;
  dshal_dtype dtype = DSHAL_DTYPE_F32;
  uint64_t ld = 0;
  DSHAL_HD void* row(uint64_t r) const { return static_cast<char*>(base) + r * ld * elem_bytes(dtype); }
};

}  // namespace dshal::cuda::kernels
