// AVX-512 GEMM kernels: 12x32 f32 (vfmadd231ps) and bf16-pair (vdpbf16ps) micro-kernels on packed
// panels, the packers that convert / dequantize / transpose into those panels, and the small-M dot
// kernels. Compiled with AVX-512 flags; gemm.cpp calls fill_avx512_isa() only after a CPU
// check. Everything here stays in an anonymous namespace and uses no std templates, so no
// AVX-512-compiled inline function can be picked by the linker for code outside this file.
#include <immintrin.h>

#include <cstdint>
#include <cstdlib>  // TUNE

#include "gemm_internal.hpp"

namespace dshal::host::gemm_detail {
namespace {

constexpr int kMr = 12, kNr = 32;
constexpr int kPrefetchA = 24;  // k steps ahead: A panels may come from L3 when a new row panel starts
constexpr int kPrefetchB = 8;   // k steps ahead in the B panel (from L2)

inline int64_t lmin(int64_t a, int64_t b) { return a < b ? a : b; }
inline __mmask16 mask16(int64_t n) { return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1); }
inline __mmask32 mask32(int64_t n) {
  return n >= 32 ? __mmask32(0xffffffffu) : n <= 0 ? __mmask32(0) : __mmask32((1u << n) - 1);
}

// Elements [i, i + n) (n <= 16) of a row as f32; lanes >= n are 0 and their memory is not touched.
template <dshal_dtype T>
inline __m512 load16(const void* p, int64_t i, int64_t n) {
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
inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
  }
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
  }
}

// ---- f32 panels: dst[k][P] --------------------------------------------------------------------

// Source contiguous along k (A not transposed, W / B transposed, quantized weights).
template <dshal_dtype T, int P>
void pack_f32_kcontig(const Src& s, int64_t r0, int rows, int64_t k0, int64_t kc, float* dst) {
  for (int64_t kk = 0; kk < kc; kk += 16) {
    const int64_t n = lmin(16, kc - kk);
    for (int g = 0; g < P; g += 16) {
      const int lanes = int(lmin(16, P - g));
      __m512 r[16];
      for (int i = 0; i < 16; ++i) {
        const int row = g + i;
        if (i < lanes && row < rows) {
          r[i] = load16<T>(s.p, (r0 + row) * s.rs + k0 + kk, n);
          if constexpr (kQuant<T>) r[i] = _mm512_mul_ps(r[i], scale16(s, r0 + row, k0 + kk, n));
        } else {
          r[i] = _mm512_setzero_ps();
        }
      }
      transpose16(r);
      const __mmask16 m = mask16(lanes);
      for (int j = 0; j < n; ++j) _mm512_mask_storeu_ps(dst + (kk + j) * P + g, m, r[j]);
    }
  }
}

// Source contiguous along the rows (A transposed, B not transposed).
template <dshal_dtype T, int P>
void pack_f32_rcontig(const Src& s, int64_t r0, int rows, int64_t k0, int64_t kc, float* dst) {
  for (int64_t k = 0; k < kc; ++k) {
    for (int g = 0; g < P; g += 16) {
      const int64_t lanes = lmin(16, rows - g);
      const __m512 v = lanes > 0 ? load16<T>(s.p, r0 + g + (k0 + k) * s.ks, lanes) : _mm512_setzero_ps();
      _mm512_mask_storeu_ps(dst + k * P + g, mask16(P - g), v);
    }
  }
}

template <dshal_dtype T, int P>
void pack_f32_strided(const Src& s, int64_t r0, int rows, int64_t k0, int64_t kc, float* dst) {
  alignas(64) float tmp[16];
  for (int64_t k = 0; k < kc; ++k) {
    for (int g = 0; g < P; g += 16) {
      for (int i = 0; i < 16; ++i) {
        const int row = g + i;
        tmp[i] = 0.0f;
        if (row < rows) {
          const __m512 v = load16<T>(s.p, (r0 + row) * s.rs + (k0 + k) * s.ks, 1);
          tmp[i] = _mm512_cvtss_f32(v);
        }
      }
      _mm512_mask_storeu_ps(dst + k * P + g, mask16(P - g), _mm512_load_ps(tmp));
    }
  }
}

template <dshal_dtype T, int P>
void pack_f32_t(const Src& s, int64_t r0, int rows, int64_t k0, int64_t kc, float* dst) {
  if (s.ks == 1) pack_f32_kcontig<T, P>(s, r0, rows, k0, kc, dst);
  else if (s.rs == 1) pack_f32_rcontig<T, P>(s, r0, rows, k0, kc, dst);
  else pack_f32_strided<T, P>(s, r0, rows, k0, kc, dst);
}

template <int P>
void pack_f32(const Src& s, int64_t r0, int rows, int64_t k0, int64_t kc, void* dstv) {
  float* dst = static_cast<float*>(dstv);
  switch (s.t) {
    case DSHAL_DTYPE_F32: return pack_f32_t<DSHAL_DTYPE_F32, P>(s, r0, rows, k0, kc, dst);
    case DSHAL_DTYPE_F16: return pack_f32_t<DSHAL_DTYPE_F16, P>(s, r0, rows, k0, kc, dst);
    case DSHAL_DTYPE_BF16: return pack_f32_t<DSHAL_DTYPE_BF16, P>(s, r0, rows, k0, kc, dst);
    case DSHAL_DTYPE_FP8_E4M3: return pack_f32_kcontig<DSHAL_DTYPE_FP8_E4M3, P>(s, r0, rows, k0, kc, dst);
    case DSHAL_DTYPE_INT4: return pack_f32_kcontig<DSHAL_DTYPE_INT4, P>(s, r0, rows, k0, kc, dst);
    default: return;
  }
}

// ---- bf16 pair panels: dst[k / 2][P], each uint32 = bf16 k (low half) and k + 1 (high half) ----

template <int P>
void pack_bf16_kcontig(const Src& s, int64_t r0, int rows, int64_t k0, int64_t kc, uint32_t* dst) {
  const uint16_t* p = static_cast<const uint16_t*>(s.p);
  for (int64_t kk = 0; kk < kc; kk += 32) {
    const int64_t n = lmin(32, kc - kk), pairs = (n + 1) / 2;
    for (int g = 0; g < P; g += 16) {
      const int lanes = int(lmin(16, P - g));
      __m512 r[16];
      for (int i = 0; i < 16; ++i) {
        const int row = g + i;
        r[i] = (i < lanes && row < rows)
                   ? _mm512_castsi512_ps(_mm512_maskz_loadu_epi16(mask32(n), p + (r0 + row) * s.rs + k0 + kk))
                   : _mm512_setzero_ps();
      }
      transpose16(r);
      const __mmask16 m = mask16(lanes);
      for (int j = 0; j < pairs; ++j)
        _mm512_mask_storeu_ps(reinterpret_cast<float*>(dst + (kk / 2 + j) * P + g), m, r[j]);
    }
  }
}

template <int P>
void pack_bf16_rcontig(const Src& s, int64_t r0, int rows, int64_t k0, int64_t kc, uint32_t* dst) {
  const uint16_t* p = static_cast<const uint16_t*>(s.p);
  for (int64_t kp = 0; kp < (kc + 1) / 2; ++kp) {
    const int64_t k = k0 + 2 * kp;
    const bool two = 2 * kp + 1 < kc;
    for (int g = 0; g < P; g += 16) {
      const int64_t lanes = lmin(16, rows - g);
      const __mmask16 m = mask16(lanes);
      const __m256i lo = _mm256_maskz_loadu_epi16(m, p + r0 + g + k * s.ks);
      const __m256i hi = two ? _mm256_maskz_loadu_epi16(m, p + r0 + g + (k + 1) * s.ks) : _mm256_setzero_si256();
      const __m512i v = _mm512_or_si512(_mm512_cvtepu16_epi32(lo), _mm512_slli_epi32(_mm512_cvtepu16_epi32(hi), 16));
      _mm512_mask_storeu_epi32(dst + kp * P + g, mask16(P - g), v);
    }
  }
}

template <int P>
void pack_bf16_strided(const Src& s, int64_t r0, int rows, int64_t k0, int64_t kc, uint32_t* dst) {
  const uint16_t* p = static_cast<const uint16_t*>(s.p);
  for (int64_t kp = 0; kp < (kc + 1) / 2; ++kp) {
    const int64_t k = k0 + 2 * kp;
    for (int i = 0; i < P; ++i) {
      uint32_t v = 0;
      if (i < rows) {
        v = p[(r0 + i) * s.rs + k * s.ks];
        if (2 * kp + 1 < kc) v |= uint32_t(p[(r0 + i) * s.rs + (k + 1) * s.ks]) << 16;
      }
      dst[kp * P + i] = v;
    }
  }
}

template <int P>
void pack_bf16(const Src& s, int64_t r0, int rows, int64_t k0, int64_t kc, void* dstv) {
  uint32_t* dst = static_cast<uint32_t*>(dstv);
  if (s.ks == 1) pack_bf16_kcontig<P>(s, r0, rows, k0, kc, dst);
  else if (s.rs == 1) pack_bf16_rcontig<P>(s, r0, rows, k0, kc, dst);
  else pack_bf16_strided<P>(s, r0, rows, k0, kc, dst);
}

// ---- micro-kernels: C[12][32] tile ----------------------------------------------------------------

inline void store_tile(__m512 (&acc)[kMr][2], float* c, int64_t ldc, int m, int n, float alpha, float beta) {
  const __mmask16 m0 = mask16(n), m1 = mask16(n - 16);
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int i = 0; i < kMr; ++i) {
    if (i >= m) break;
    float* row = c + i * ldc;
    __m512 r0 = _mm512_mul_ps(acc[i][0], va), r1 = _mm512_mul_ps(acc[i][1], va);
    if (beta != 0.0f) {
      r0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, row), vb, r0);
      r1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, row + 16), vb, r1);
    }
    _mm512_mask_storeu_ps(row, m0, r0);
    _mm512_mask_storeu_ps(row + 16, m1, r1);
  }
}

inline void prefetch_tile(const float* c, int64_t ldc, int m) {
  for (int i = 0; i < m; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 31), _MM_HINT_T0);
  }
}

void ukr_f32(int64_t kc, const void* av, const void* bv, float* c, int64_t ldc, int m, int n, float alpha, float beta,
              const void* const* pf, int npf) {
  const float* a = static_cast<const float*>(av);
  const float* b = static_cast<const float*>(bv);
  __m512 acc[kMr][2];
  for (int i = 0; i < kMr; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  prefetch_tile(c, ldc, m);
  const int64_t pf_every = npf > 0 ? (kc + npf - 1) / npf : kc + 1;
  int64_t pf_at = 0;
  for (int64_t k = 0; k < kc; ++k) {
    if (k == pf_at) {
      pf_at += pf_every;
      _mm_prefetch(static_cast<const char*>(*pf++), _MM_HINT_T1);
    }
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
    _mm_prefetch(reinterpret_cast<const char*>(a + kPrefetchA * kMr), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + kPrefetchB * kNr), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + kPrefetchB * kNr + 16), _MM_HINT_T0);
#pragma GCC unroll 12
    for (int i = 0; i < kMr; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += kMr;
    b += kNr;
  }
  store_tile(acc, c, ldc, m, n, alpha, beta);
}

void ukr_bf16(int64_t kp, const void* av, const void* bv, float* c, int64_t ldc, int m, int n, float alpha, float beta,
              const void* const* pf, int npf) {
  const int32_t* a = static_cast<const int32_t*>(av);
  const uint32_t* b = static_cast<const uint32_t*>(bv);
  __m512 acc[kMr][2];
  for (int i = 0; i < kMr; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  prefetch_tile(c, ldc, m);
  const int64_t pf_every = npf > 0 ? (kp + npf - 1) / npf : kp + 1;
  int64_t pf_at = 0;
  for (int64_t k = 0; k < kp; ++k) {
    if (k == pf_at) {
      pf_at += pf_every;
      _mm_prefetch(static_cast<const char*>(*pf++), _MM_HINT_T1);
    }
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 16);
    _mm_prefetch(reinterpret_cast<const char*>(a + kPrefetchA * kMr), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + kPrefetchB * kNr), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + kPrefetchB * kNr + 16), _MM_HINT_T0);
#pragma GCC unroll 12
    for (int i = 0; i < kMr; ++i) {
      const __m512bh ai = (__m512bh)_mm512_set1_epi32(a[i]);
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
    }
    a += kMr;
    b += kNr;
  }
  store_tile(acc, c, ldc, m, n, alpha, beta);
}

// ---- small-M kernels ------------------------------------------------------------------------------

template <dshal_dtype T>
void convert_w_t(const Src& w, int64_t r0, int rows, int64_t k0, int64_t kc, float* dst, int64_t ldd) {
  for (int r = 0; r < rows; ++r) {
    const int64_t base = (r0 + r) * w.rs + k0;
    for (int64_t k = 0; k < kc; k += 16) {
      const int64_t n = lmin(16, kc - k);
      __m512 v = load16<T>(w.p, base + k, n);
      if constexpr (kQuant<T>) v = _mm512_mul_ps(v, scale16(w, r0 + r, k0 + k, n));
      _mm512_storeu_ps(dst + r * ldd + k, v);
    }
  }
}

void convert_w(const Src& w, int64_t r0, int rows, int64_t k0, int64_t kc, float* dst, int64_t ldd) {
  switch (w.t) {
    case DSHAL_DTYPE_F32: return convert_w_t<DSHAL_DTYPE_F32>(w, r0, rows, k0, kc, dst, ldd);
    case DSHAL_DTYPE_F16: return convert_w_t<DSHAL_DTYPE_F16>(w, r0, rows, k0, kc, dst, ldd);
    case DSHAL_DTYPE_BF16: return convert_w_t<DSHAL_DTYPE_BF16>(w, r0, rows, k0, kc, dst, ldd);
    case DSHAL_DTYPE_FP8_E4M3: return convert_w_t<DSHAL_DTYPE_FP8_E4M3>(w, r0, rows, k0, kc, dst, ldd);
    case DSHAL_DTYPE_INT4: return convert_w_t<DSHAL_DTYPE_INT4>(w, r0, rows, k0, kc, dst, ldd);
    default: return;
  }
}

template <int M, int N>
void dot_f32_t(const float* a, int64_t lda, const float* w, int64_t ldw, int64_t kc, float* acc) {
  __m512 s[M][N];
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) s[i][j] = _mm512_loadu_ps(acc + (i * 4 + j) * 16);
  int64_t k = 0;
  for (; k + 16 <= kc; k += 16) {
    __m512 wv[N];
    for (int j = 0; j < N; ++j) wv[j] = _mm512_loadu_ps(w + j * ldw + k);
    for (int i = 0; i < M; ++i) {
      const __m512 av = _mm512_loadu_ps(a + i * lda + k);
      for (int j = 0; j < N; ++j) s[i][j] = _mm512_fmadd_ps(av, wv[j], s[i][j]);
    }
  }
  if (k < kc) {
    const __mmask16 m = mask16(kc - k);
    __m512 wv[N];
    for (int j = 0; j < N; ++j) wv[j] = _mm512_maskz_loadu_ps(m, w + j * ldw + k);
    for (int i = 0; i < M; ++i) {
      const __m512 av = _mm512_maskz_loadu_ps(m, a + i * lda + k);
      for (int j = 0; j < N; ++j) s[i][j] = _mm512_fmadd_ps(av, wv[j], s[i][j]);
    }
  }
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) _mm512_storeu_ps(acc + (i * 4 + j) * 16, s[i][j]);
}

template <int M, int N>
void dot_bf16_t(const uint16_t* a, int64_t lda, const uint16_t* w, int64_t ldw, int64_t kc, float* acc) {
  __m512 s[M][N];
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) s[i][j] = _mm512_loadu_ps(acc + (i * 4 + j) * 16);
  int64_t k = 0;
  for (; k + 32 <= kc; k += 32) {
    __m512bh wv[N];
    for (int j = 0; j < N; ++j) wv[j] = (__m512bh)_mm512_loadu_si512(w + j * ldw + k);
    for (int i = 0; i < M; ++i) {
      const __m512bh av = (__m512bh)_mm512_loadu_si512(a + i * lda + k);
      for (int j = 0; j < N; ++j) s[i][j] = _mm512_dpbf16_ps(s[i][j], av, wv[j]);
    }
  }
  if (k < kc) {
    const __mmask32 m = mask32(kc - k);
    __m512bh wv[N];
    for (int j = 0; j < N; ++j) wv[j] = (__m512bh)_mm512_maskz_loadu_epi16(m, w + j * ldw + k);
    for (int i = 0; i < M; ++i) {
      const __m512bh av = (__m512bh)_mm512_maskz_loadu_epi16(m, a + i * lda + k);
      for (int j = 0; j < N; ++j) s[i][j] = _mm512_dpbf16_ps(s[i][j], av, wv[j]);
    }
  }
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) _mm512_storeu_ps(acc + (i * 4 + j) * 16, s[i][j]);
}

#define DSHAL_DOT_SWITCH(FN, a, lda, m, w, ldw, n, kc, acc)        \
  switch ((m - 1) * 4 + (n - 1)) {                                   \
    case 0: return FN<1, 1>(a, lda, w, ldw, kc, acc);                \
    case 1: return FN<1, 2>(a, lda, w, ldw, kc, acc);                \
    case 2: return FN<1, 3>(a, lda, w, ldw, kc, acc);                \
    case 3: return FN<1, 4>(a, lda, w, ldw, kc, acc);                \
    case 4: return FN<2, 1>(a, lda, w, ldw, kc, acc);                \
    case 5: return FN<2, 2>(a, lda, w, ldw, kc, acc);                \
    case 6: return FN<2, 3>(a, lda, w, ldw, kc, acc);                \
    case 7: return FN<2, 4>(a, lda, w, ldw, kc, acc);                \
    case 8: return FN<3, 1>(a, lda, w, ldw, kc, acc);                \
    case 9: return FN<3, 2>(a, lda, w, ldw, kc, acc);                \
    case 10: return FN<3, 3>(a, lda, w, ldw, kc, acc);               \
    case 11: return FN<3, 4>(a, lda, w, ldw, kc, acc);               \
    case 12: return FN<4, 1>(a, lda, w, ldw, kc, acc);               \
    case 13: return FN<4, 2>(a, lda, w, ldw, kc, acc);               \
    case 14: return FN<4, 3>(a, lda, w, ldw, kc, acc);               \
    case 15: return FN<4, 4>(a, lda, w, ldw, kc, acc);               \
    default: return;                                                 \
  }

void dot_f32(const float* a, int64_t lda, int m, const float* w, int64_t ldw, int n, int64_t kc, float* acc) {
  DSHAL_DOT_SWITCH(dot_f32_t, a, lda, m, w, ldw, n, kc, acc)
}

void dot_bf16(const uint16_t* a, int64_t lda, int m, const uint16_t* w, int64_t ldw, int n, int64_t kc, float* acc) {
  DSHAL_DOT_SWITCH(dot_bf16_t, a, lda, m, w, ldw, n, kc, acc)
}
#undef DSHAL_DOT_SWITCH

}  // namespace

// Fills the AVX-512 kernel table (assignments only: no AVX-512-compiled constructor is shared with
// other files). Call only on a CPU with AVX-512 F/BW/VL, FMA and F16C, plus AVX512_BF16 for has_bf16.
void fill_avx512_isa(Isa* isa, bool has_bf16) {
  isa->name = has_bf16 ? "avx512+bf16" : "avx512";
  isa->f32.mr = kMr;
  isa->f32.nr = kNr;
  isa->f32.kpack = 1;
  isa->f32.kc = 384;
  isa->f32.nc = 512;
  isa->f32.pack_a = pack_f32<kMr>;
  isa->f32.pack_b = pack_f32<kNr>;
  isa->f32.ukr = ukr_f32;
  if (has_bf16) {
    isa->bf16.mr = kMr;
    isa->bf16.nr = kNr;
    isa->bf16.kpack = 2;
    isa->bf16.kc = 768;
    isa->bf16.nc = 512;
    isa->bf16.pack_a = pack_bf16<kMr>;
    isa->bf16.pack_b = pack_bf16<kNr>;
    isa->bf16.ukr = ukr_bf16;
    isa->gemv.dot_bf16 = dot_bf16;
  }
  isa->gemv.convert_w = convert_w;
  isa->gemv.dot_f32 = dot_f32;
  if (const char* e = getenv("TUNE_KC")) isa->f32.kc = atoi(e);
  if (const char* e = getenv("TUNE_NC")) isa->f32.nc = atoi(e);
  if (const char* e = getenv("TUNE_BKC")) isa->bf16.kc = atoi(e);
  if (const char* e = getenv("TUNE_BNC")) isa->bf16.nc = atoi(e);
}

}  // namespace dshal::host::gemm_detail
