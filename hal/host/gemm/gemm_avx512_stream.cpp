// AVX-512 kernels of the streamed-weight path (C^T tiles): a 12-row weight panel is copied (and
// dequantized) row-major into L1 without any transpose, its elements are broadcast against 32-wide
// panels of A^T, and the 12 x 32 tile of C^T is transposed in registers on the way out.
#include "gemm_avx512_common.hpp"

namespace dshal::host::gemm_detail {
namespace {

// dst[i][0..kc) = dequantized W row r0 + i at k0.., row stride kUStride floats; rows >= `rows` are 0.
template <dshal_dtype T>
void pack_u_f32_t(const Src& s, int64_t r0, int rows, int64_t k0, int64_t kc, float* dst) {
  int64_t idx[kMr];
  const float* srow[kMr];
  for (int i = 0; i < kMr; ++i) {
    const int64_t r = r0 + (i < rows ? i : 0);
    idx[i] = r * s.rs + k0;
    srow[i] = kQuant<T> ? s.scales + (r / s.bn) * s.scale_ld : nullptr;
  }
  for (int64_t k = 0; k < kc; k += 16) {
    const int64_t n = lmin(16, kc - k);
    int64_t blk = 0;
    bool straddle = false;
    if constexpr (kQuant<T>) {
      blk = (k0 + k) / s.bk;
      straddle = blk != (k0 + k + n - 1) / s.bk;
    }
    // All loads, then all stores: a store followed by a load 4 KiB apart (weight rows often are)
    // would stall on a false dependency.
    __m512 v[kMr];
#pragma GCC unroll 12
    for (int i = 0; i < kMr; ++i) {
      v[i] = _mm512_setzero_ps();
      if (i < rows) {
        v[i] = load16<T>(s.p, idx[i] + k, n);
        if constexpr (kQuant<T>)
          v[i] = _mm512_mul_ps(v[i], straddle ? scale16(s, r0 + i, k0 + k, n) : _mm512_set1_ps(srow[i][blk]));
      }
    }
#pragma GCC unroll 12
    for (int i = 0; i < kMr; ++i) _mm512_storeu_ps(dst + i * kUStride + k, v[i]);
  }
}

// dst[i][0..kc) = bf16 W row r0 + i (row stride 2 * kUStride elements), an odd kc padded with 0.
void pack_u_bf16_t(const Src& s, int64_t r0, int rows, int64_t k0, int64_t kc, uint16_t* dst) {
  const uint16_t* p = static_cast<const uint16_t*>(s.p);
  const int64_t kpad = (kc + 1) / 2 * 2;
  for (int i = 0; i < kMr; ++i) {
    const uint16_t* src = i < rows ? p + (r0 + i) * s.rs + k0 : p;
    uint16_t* d = dst + i * 2 * kUStride;
    for (int64_t k = 0; k < kpad; k += 32) {
      const __m512i v = i < rows ? _mm512_maskz_loadu_epi16(mask32(kc - k), src + k) : _mm512_setzero_si512();
      _mm512_mask_storeu_epi16(d + k, mask32(kpad - k), v);
    }
  }
}

// Stores the transposed tile: C[m0 + l][i] for l < m, i < n, from acc[i][l / 16] lane l % 16.
DSHAL_INLINE void store_tile_t(__m512 (&acc)[kMr][2], float* c, int64_t ldc, int n, int m, float alpha, float beta) {
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  const __mmask16 nm = mask16(n);
  for (int h = 0; h < 2; ++h) {
    __m512 r[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) r[i] = i < kMr ? _mm512_mul_ps(acc[i][h], va) : _mm512_setzero_ps();
    transpose16(r);
#pragma GCC unroll 16
    for (int l = 0; l < 16; ++l) {
      if (16 * h + l < m) {
        float* row = c + (16 * h + l) * ldc;
        __m512 x = r[l];
        if (beta != 0.0f) x = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(nm, row), vb, x);
        _mm512_mask_storeu_ps(row, nm, x);
      }
    }
  }
}

template <_mm_hint kHint>
DSHAL_INLINE void prefetch_tile_t(const float* c, int64_t ldc, int m) {
  for (int l = 0; l < m; ++l) {
    _mm_prefetch(reinterpret_cast<const char*>(c + l * ldc), kHint);
    _mm_prefetch(reinterpret_cast<const char*>(c + l * ldc + kMr - 1), kHint);
  }
}

}  // namespace

namespace avx512 {

void pack_u_f32(const Src& s, int64_t r0, int rows, int64_t k0, int64_t kc, void* dstv) {
  float* dst = static_cast<float*>(dstv);
  switch (s.t) {
    case DSHAL_DTYPE_F32: return pack_u_f32_t<DSHAL_DTYPE_F32>(s, r0, rows, k0, kc, dst);
    case DSHAL_DTYPE_F16: return pack_u_f32_t<DSHAL_DTYPE_F16>(s, r0, rows, k0, kc, dst);
    case DSHAL_DTYPE_BF16: return pack_u_f32_t<DSHAL_DTYPE_BF16>(s, r0, rows, k0, kc, dst);
    case DSHAL_DTYPE_FP8_E4M3: return pack_u_f32_t<DSHAL_DTYPE_FP8_E4M3>(s, r0, rows, k0, kc, dst);
    case DSHAL_DTYPE_INT4: return pack_u_f32_t<DSHAL_DTYPE_INT4>(s, r0, rows, k0, kc, dst);
    default: return;
  }
}

void pack_u_bf16(const Src& s, int64_t r0, int rows, int64_t k0, int64_t kc, void* dst) {
  pack_u_bf16_t(s, r0, rows, k0, kc, static_cast<uint16_t*>(dst));
}

// c[l][i] (l < m, i < n) = alpha * sum_k u[i][k] * v[k][l] + beta * c[l][i].
void ukr_t_f32(int64_t ku, const void* uv, const void* vv, float* c, int64_t ldc, int n, int m, float alpha, float beta,
               const void* const* pf, int npf) {
  const float* u = static_cast<const float*>(uv);
  const float* v = static_cast<const float*>(vv);
  __m512 acc[kMr][2];
  for (int i = 0; i < kMr; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  prefetch_tile_t<_MM_HINT_T1>(c, ldc, m);  // into L1 near the end: the A^T stream would evict it
  SpreadPrefetch spread(pf, npf, ku);
  const int64_t c_at = ku > 24 ? ku - 24 : 0;
  for (int64_t k = 0; k < ku; ++k) {
    spread.step(k);
    if (k == c_at) prefetch_tile_t<_MM_HINT_T0>(c, ldc, m);
    if ((k & 15) == 0) {  // the weight panel's next lines: they share L1 with the streaming A^T panel
#pragma GCC unroll 12
      for (int i = 0; i < kMr; ++i) _mm_prefetch(reinterpret_cast<const char*>(u + i * kUStride + k + 32), _MM_HINT_T0);
    }
    const __m512 b0 = _mm512_loadu_ps(v), b1 = _mm512_loadu_ps(v + 16);
    _mm_prefetch(reinterpret_cast<const char*>(v + kPrefetchB * kNr), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(v + kPrefetchB * kNr + 16), _MM_HINT_T0);
#pragma GCC unroll 12
    for (int i = 0; i < kMr; ++i) {
      const __m512 ai = _mm512_set1_ps(u[i * kUStride + k]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    v += kNr;
  }
  spread.finish();
  store_tile_t(acc, c, ldc, n, m, alpha, beta);
}

void ukr_t_bf16(int64_t ku, const void* uv, const void* vv, float* c, int64_t ldc, int n, int m, float alpha, float beta,
                const void* const* pf, int npf) {
  const int32_t* u = static_cast<const int32_t*>(uv);
  const uint32_t* v = static_cast<const uint32_t*>(vv);
  __m512 acc[kMr][2];
  for (int i = 0; i < kMr; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  prefetch_tile_t<_MM_HINT_T1>(c, ldc, m);  // into L1 near the end: the A^T stream would evict it
  SpreadPrefetch spread(pf, npf, ku);
  const int64_t c_at = ku > 24 ? ku - 24 : 0;
  for (int64_t k = 0; k < ku; ++k) {
    spread.step(k);
    if (k == c_at) prefetch_tile_t<_MM_HINT_T0>(c, ldc, m);
    if ((k & 15) == 0) {  // the weight panel's next lines: they share L1 with the streaming A^T panel
#pragma GCC unroll 12
      for (int i = 0; i < kMr; ++i) _mm_prefetch(reinterpret_cast<const char*>(u + i * kUStride + k + 32), _MM_HINT_T0);
    }
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(v), b1 = (__m512bh)_mm512_loadu_si512(v + 16);
    _mm_prefetch(reinterpret_cast<const char*>(v + kPrefetchB * kNr), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(v + kPrefetchB * kNr + 16), _MM_HINT_T0);
#pragma GCC unroll 12
    for (int i = 0; i < kMr; ++i) {
      const __m512bh ai = (__m512bh)_mm512_set1_epi32(u[i * kUStride + k]);
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
    }
    v += kNr;
  }
  spread.finish();
  store_tile_t(acc, c, ldc, n, m, alpha, beta);
}

}  // namespace avx512
}  // namespace dshal::host::gemm_detail
