// AVX-512 packed-panel GEMM kernels: 12x32 f32 (vfmadd231ps) and bf16-pair (vdpbf16ps) micro-kernels
// and the packers that convert / dequantize / transpose into their panels; fill_avx512_isa() wires
// up these and the kernels of gemm_avx512_gemv.cpp and gemm_avx512_stream.cpp.
//
// All AVX-512 files are compiled with AVX-512 flags and reached only after gemm.cpp's CPU check.
// Their helpers live in anonymous namespaces and they use no std templates, so the linker cannot
// pick an AVX-512-compiled copy of an inline function for code outside them.
#include "gemm_avx512_common.hpp"

namespace dshal::host::gemm_detail {
namespace {

// ---- f32 panels: dst[k][P] --------------------------------------------------------------------

// Source contiguous along k (A not transposed, W / B transposed, quantized weights).
// One full 16 (k) x LANES (rows) block: unmasked loads, the transpose in registers.
template <dshal_dtype T, int LANES, int P>
DSHAL_INLINE void pack_f32_block(const void* p, const int64_t* idx, const float* const* srow, int64_t blk, float* dst) {
  __m512 r[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) {
    if (i < LANES) {
      r[i] = load16<T>(p, idx[i], 16);
      if constexpr (kQuant<T>) r[i] = _mm512_mul_ps(r[i], _mm512_set1_ps(srow[i][blk]));
    } else {
      r[i] = _mm512_setzero_ps();
    }
  }
  transpose16(r);
#pragma GCC unroll 16
  for (int j = 0; j < 16; ++j) {
    if constexpr (LANES == 16) _mm512_storeu_ps(dst + j * P, r[j]);
    else _mm512_mask_storeu_ps(dst + j * P, mask16(LANES), r[j]);
  }
}

// Source contiguous along k (A not transposed, W / B transposed, quantized weights).
template <dshal_dtype T, int P>
void pack_f32_kcontig(const Src& s, int64_t r0, int rows, int64_t k0, int64_t kc, float* dst) {
  int64_t idx[P];        // element index of (row, k0)
  const float* srow[P];  // scale row (quantized)
  for (int i = 0; i < P; ++i) {
    const int64_t r = r0 + (i < rows ? i : 0);
    idx[i] = r * s.rs + k0;
    srow[i] = kQuant<T> ? s.scales + (r / s.bn) * s.scale_ld : nullptr;
  }
  for (int64_t kk = 0; kk < kc; kk += 16) {
    const int64_t n = lmin(16, kc - kk);
    int64_t blk = 0;
    bool straddle = false;
    if constexpr (kQuant<T>) {
      blk = (k0 + kk) / s.bk;
      straddle = blk != (k0 + kk + n - 1) / s.bk;
    }
    int64_t at[P];
    for (int i = 0; i < P; ++i) at[i] = idx[i] + kk;
    for (int g = 0; g < P; g += 16) {
      const int lanes = int(lmin(16, P - g));
      if (n == 16 && rows >= g + lanes && !straddle) {
        if constexpr (P % 16 == 0) pack_f32_block<T, 16, P>(s.p, at + g, srow + g, blk, dst + kk * P + g);
        else if (g + 16 > P) pack_f32_block<T, P % 16, P>(s.p, at + g, srow + g, blk, dst + kk * P + g);
        else pack_f32_block<T, 16, P>(s.p, at + g, srow + g, blk, dst + kk * P + g);
        continue;
      }
      __m512 r[16];
      for (int i = 0; i < 16; ++i) {
        const int row = g + i;
        if (i < lanes && row < rows) {
          r[i] = load16<T>(s.p, at[row], n);
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

template <_mm_hint kHint>
DSHAL_INLINE void prefetch_tile(const float* c, int64_t ldc, int m) {
  for (int i = 0; i < m; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), kHint);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 31), kHint);
  }
}

// acc += a . b over ku packed k units: f32 (vfmadd231ps, one k per unit) or bf16 pairs (vdpbf16ps).
// C is prefetched into L2 at the start and into L1 shortly before the end (the B stream would
// evict it from L1 in between); pf[] is spread over the loop.
template <bool kBf16>
DSHAL_INLINE void ukr_body(int64_t ku, const void* av, const void* bv, float* c, int64_t ldc, int m, int n,
                           float alpha, float beta, const void* const* pf, int npf) {
  const uint32_t* a = static_cast<const uint32_t*>(av);
  const uint32_t* b = static_cast<const uint32_t*>(bv);
  __m512 acc[kMr][2];
  for (int i = 0; i < kMr; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  prefetch_tile<_MM_HINT_T1>(c, ldc, m);
  SpreadPrefetch spread(pf, npf, ku);
  const int64_t c_at = ku > 24 ? ku - 24 : 0;
  for (int64_t k = 0; k < ku; ++k) {
    spread.step(k);
    if (k == c_at) prefetch_tile<_MM_HINT_T0>(c, ldc, m);
    _mm_prefetch(reinterpret_cast<const char*>(a + kPrefetchA * kMr), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + kPrefetchB * kNr), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + kPrefetchB * kNr + 16), _MM_HINT_T0);
    if constexpr (kBf16) {
      const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 16);
#pragma GCC unroll 12
      for (int i = 0; i < kMr; ++i) {
        const __m512bh ai = (__m512bh)_mm512_set1_epi32(int32_t(a[i]));
        acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
        acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
      }
    } else {
      const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
      const float* af = reinterpret_cast<const float*>(a);
#pragma GCC unroll 12
      for (int i = 0; i < kMr; ++i) {
        const __m512 ai = _mm512_set1_ps(af[i]);
        acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
        acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
      }
    }
    a += kMr;
    b += kNr;
  }
  spread.finish();
  store_tile(acc, c, ldc, m, n, alpha, beta);
}

void ukr_f32(int64_t ku, const void* a, const void* b, float* c, int64_t ldc, int m, int n, float alpha, float beta,
             const void* const* pf, int npf) {
  ukr_body<false>(ku, a, b, c, ldc, m, n, alpha, beta, pf, npf);
}

void ukr_bf16(int64_t ku, const void* a, const void* b, float* c, int64_t ldc, int m, int n, float alpha, float beta,
              const void* const* pf, int npf) {
  ukr_body<true>(ku, a, b, c, ldc, m, n, alpha, beta, pf, npf);
}

}  // namespace

// Fills the AVX-512 kernel table (assignments only: no AVX-512-compiled constructor is shared with
// other files). Call only on a CPU with AVX-512 F/BW/VL, FMA and F16C, plus AVX512_BF16 for has_bf16.
void fill_avx512_isa(Isa* isa, bool has_bf16) {
  isa->name = has_bf16 ? "avx512+bf16" : "avx512";
  isa->f32.mr = kMr;
  isa->f32.nr = kNr;
  isa->f32.kpack = 1;
  isa->f32.kc = kKcBlocked;
  isa->f32.nc = 512;
  isa->f32.pack_a = pack_f32<kMr>;
  isa->f32.pack_b = pack_f32<kNr>;
  isa->f32.ukr = ukr_f32;
  isa->f32.kc_stride = kUStride;
  isa->f32.kc_stream = kKcUnits;  // the streamed path's C^T tiles cost more per k block: longer blocks
  isa->f32.pack_u = avx512::pack_u_f32;
  isa->f32.ukr_t = avx512::ukr_t_f32;
  if (has_bf16) {
    isa->bf16.mr = kMr;
    isa->bf16.nr = kNr;
    isa->bf16.kpack = 2;
    isa->bf16.kc = 2 * kKcBlocked;
    isa->bf16.nc = 512;
    isa->bf16.pack_a = pack_bf16<kMr>;
    isa->bf16.pack_b = pack_bf16<kNr>;
    isa->bf16.ukr = ukr_bf16;
    isa->bf16.kc_stride = kUStride;
    isa->bf16.kc_stream = 2 * kKcUnits;
    isa->bf16.pack_u = avx512::pack_u_bf16;
    isa->bf16.ukr_t = avx512::ukr_t_bf16;
    isa->gemv.dot_bf16 = avx512::dot_bf16;
  }
  isa->gemv.convert_w = avx512::convert_w;
  isa->gemv.dot_f32 = avx512::dot_f32;
  isa->gemv.dot_w = avx512::dot_w;
}

}  // namespace dshal::host::gemm_detail
