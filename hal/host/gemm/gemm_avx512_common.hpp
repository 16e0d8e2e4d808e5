// Helpers shared by the AVX-512 GEMM files (each includes this inside its own anonymous namespace,
// so nothing compiled with AVX-512 flags is shared with other files through the linker).
// Include only from files compiled with the AVX-512 flags.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "gemm_internal.hpp"

namespace dshal::host::gemm_detail {

// Kernel entry points defined in the AVX-512 files, wired up by fill_avx512_isa().
namespace avx512 {
void convert_w(const Src& w, int64_t r0, int rows, int64_t k0, int64_t kc, float* dst, int64_t ldd);
void dot_f32(const float* a, int64_t lda, int m, const float* w, int64_t ldw, int n, int64_t kc, float* acc);
void dot_bf16(const uint16_t* a, int64_t lda, int m, const uint16_t* w, int64_t ldw, int n, int64_t kc, float* acc);
void dot_w(const float* a, int64_t lda, int m, const Src& w, int64_t n0, int n, int64_t k0, int64_t kc, float* acc);
void pack_u_f32(const Src& s, int64_t r0, int rows, int64_t k0, int64_t kc, void* dst);
void pack_u_bf16(const Src& s, int64_t r0, int rows, int64_t k0, int64_t kc, void* dst);
void ukr_t_f32(int64_t ku, const void* u, const void* v, float* c, int64_t ldc, int n, int m, float alpha, float beta,
               const void* const* pf, int npf);
void ukr_t_bf16(int64_t ku, const void* u, const void* v, float* c, int64_t ldc, int n, int m, float alpha, float beta,
                const void* const* pf, int npf);
}  // namespace avx512

namespace {

#define DSHAL_INLINE inline __attribute__((always_inline))

constexpr int kMr = 12, kNr = 32;
constexpr int kPrefetchA = 24;  // k steps ahead: A panels may come from L3 when a new row panel starts
constexpr int kPrefetchB = 8;    // k steps ahead in the B panel (from L2)
constexpr int kKcBlocked = 384;  // packed k units per block in the blocked path (f32: 384 k, bf16: 384 pairs)
constexpr int kKcUnits = 512;    // packed k units per block in the streamed path (f32)
// Row stride (units) of streamed weight panels: 33 cache lines, so the 12 rows fall in distinct L1 sets.
constexpr int kUStride = kKcUnits + 16;

inline int64_t lmin(int64_t a, int64_t b) { return a < b ? a : b; }
inline __mmask16 mask16(int64_t n) { return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1); }
inline __mmask32 mask32(int64_t n) {
  return n >= 32 ? __mmask32(0xffffffffu) : n <= 0 ? __mmask32(0) : __mmask32((1u << n) - 1);
}

// Elements [i, i + n) (n <= 16) of a row as f32; lanes >= n are 0 and their memory is not touched.
template <dshal_dtype T>
DSHAL_INLINE __m512 load16(const void* p, int64_t i, int64_t n) {
  const __mmask16 m = mask16(n);
  if constexpr (T == DSHAL_DTYPE_F32) {
    return _mm512_maskz_loadu_ps(m, static_cast<const float*>(p) + i);
  } else if constexpr (T == DSHAL_DTYPE_BF16) {
    const __m256i h = _mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(p) + i);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  } else if constexpr (T == DSHAL_DTYPE_F16) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(p) + i));
  } else if constexpr (T == DSHAL_DTYPE_FP8_E4M3) {
    // e4m3 S.EEEE.MMM -> f32 with the same bits shifted to exponent/mantissa, times 2^(127 - 7).
    const __m512i x = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, static_cast<const uint8_t*>(p) + i));
    const __m512i mag = _mm512_and_si512(x, _mm512_set1_epi32(0x7f));
    const __m512i sign = _mm512_slli_epi32(_mm512_and_si512(x, _mm512_set1_epi32(0x80)), 24);
    const __m512 f = _mm512_mul_ps(_mm512_castsi512_ps(_mm512_or_si512(sign, _mm512_slli_epi32(mag, 20))),
                                   _mm512_set1_ps(0x1p120f));
    return _mm512_mask_mov_ps(f, _mm512_cmpeq_epi32_mask(mag, _mm512_set1_epi32(0x7f)),
                              _mm512_castsi512_ps(_mm512_set1_epi32(0x7fc00000)));
  } else {  // INT4, i even: 8 bytes hold 16 nibbles, even index in the low nibble
    const __m128i b = _mm_maskz_loadu_epi8(mask16((n + 1) / 2), static_cast<const uint8_t*>(p) + i / 2);
    const __m128i w = _mm_cvtepu8_epi16(b);
    const __m128i nib = _mm_or_si128(_mm_and_si128(w, _mm_set1_epi16(0x0f)),
                                     _mm_slli_epi16(_mm_and_si128(w, _mm_set1_epi16(0xf0)), 4));
    const __m128i s = _mm_sub_epi8(_mm_xor_si128(nib, _mm_set1_epi8(8)), _mm_set1_epi8(8));
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(s));
  }
}

// Scales of row r at k .. k + n - 1 (quantized weights).
inline __m512 scale16(const Src& s, int64_t r, int64_t k, int64_t n) {
  const float* row = s.scales + (r / s.bn) * s.scale_ld;
  const int64_t b0 = k / s.bk;
  if (b0 == (k + n - 1) / s.bk) return _mm512_set1_ps(row[b0]);
  alignas(64) float t[16];
  for (int l = 0; l < 16; ++l) t[l] = l < n ? row[(k + l) / s.bk] : 0.0f;
  return _mm512_load_ps(t);
}

template <dshal_dtype T>
constexpr bool kQuant = T == DSHAL_DTYPE_FP8_E4M3 || T == DSHAL_DTYPE_INT4;

// In-register transpose of 16 rows of 16 32-bit elements.
DSHAL_INLINE void transpose16(__m512 r[16]) {
  __m512 t[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
#pragma GCC unroll 16
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
#pragma GCC unroll 16
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
  }
#pragma GCC unroll 16
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
  }
}

// Issues npf prefetches (into L2) of pf[] spread evenly over a loop of ku steps: step(k) at every k,
// finish() after the loop.
class SpreadPrefetch {
 public:
  SpreadPrefetch(const void* const* pf, int npf, int64_t ku)
      : p_(pf), left_(npf), every_(npf > 0 ? (ku / npf > 0 ? ku / npf : 1) : 0), at_(npf > 0 ? 0 : -1) {}
  DSHAL_INLINE void step(int64_t k) {
    if (k == at_) {
      _mm_prefetch(static_cast<const char*>(*p_++), _MM_HINT_T1);
      at_ = --left_ > 0 ? at_ + every_ : -1;
    }
  }
  DSHAL_INLINE void finish() {
    for (; left_ > 0; --left_) _mm_prefetch(static_cast<const char*>(*p_++), _MM_HINT_T1);
  }

 private:
  const void* const* p_;
  int left_;
  int64_t every_, at_;
};

}  // namespace
}  // namespace dshal::host::gemm_detail
