// AVX-512 small-M (GEMV-style) kernels: weight rows dotted with up to 4 rows of A, vector partial
// sums along K; weights converted / dequantized in registers.
#include "gemm_avx512_common.hpp"

namespace dshal::host::gemm_detail {
namespace {

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

void convert_w_any(const Src& w, int64_t r0, int rows, int64_t k0, int64_t kc, float* dst, int64_t ldd) {
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

// acc[mi][ni] += a[mi] . W[n0 + ni] over [k0, k0 + kc), W read and dequantized in registers.
// Rows ni >= n repeat row n0 (results ignored). Quantized W needs bk % 16 == 0 and k0 % 16 == 0.
template <int M, dshal_dtype T>
void dot_w_t(const float* a, int64_t lda, const Src& w, int64_t n0, int n, int64_t k0, int64_t kc, float* acc) {
  constexpr int N = 4;
  __m512 s[M][N];
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) s[i][j] = _mm512_loadu_ps(acc + (i * 4 + j) * 16);
  int64_t row[N];
  const float* srow[N] = {};
  for (int j = 0; j < N; ++j) {
    const int64_t r = n0 + (j < n ? j : 0);
    row[j] = r * w.rs;
    if constexpr (kQuant<T>) srow[j] = w.scales + (r / w.bn) * w.scale_ld;
  }
  int64_t k = 0;
  while (k < kc) {
    // One scale block at a time (all of kc for unquantized weights).
    int64_t kend = kc;
    __m512 sv[N];
    if constexpr (kQuant<T>) {
      const int64_t blk = (k0 + k) / w.bk;
      kend = lmin(kc, (blk + 1) * w.bk - k0);
      for (int j = 0; j < N; ++j) sv[j] = _mm512_set1_ps(srow[j][blk]);
    }
    for (; k < kend; k += 16) {
      const int64_t cnt = lmin(16, kend - k);
      __m512 wv[N];
      for (int j = 0; j < N; ++j) {
        wv[j] = load16<T>(w.p, row[j] + k0 + k, cnt);
        if constexpr (kQuant<T>) wv[j] = _mm512_mul_ps(wv[j], sv[j]);
      }
      const __mmask16 m = mask16(cnt);
      for (int i = 0; i < M; ++i) {
        const __m512 av = _mm512_maskz_loadu_ps(m, a + i * lda + k);
        for (int j = 0; j < N; ++j) s[i][j] = _mm512_fmadd_ps(av, wv[j], s[i][j]);
      }
    }
  }
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) _mm512_storeu_ps(acc + (i * 4 + j) * 16, s[i][j]);
}

template <dshal_dtype T>
void dot_w_m(const float* a, int64_t lda, int m, const Src& w, int64_t n0, int n, int64_t k0, int64_t kc, float* acc) {
  switch (m) {
    case 1: return dot_w_t<1, T>(a, lda, w, n0, n, k0, kc, acc);
    case 2: return dot_w_t<2, T>(a, lda, w, n0, n, k0, kc, acc);
    case 3: return dot_w_t<3, T>(a, lda, w, n0, n, k0, kc, acc);
    case 4: return dot_w_t<4, T>(a, lda, w, n0, n, k0, kc, acc);
    default: return;
  }
}

void dot_w_any(const float* a, int64_t lda, int m, const Src& w, int64_t n0, int n, int64_t k0, int64_t kc, float* acc) {
  switch (w.t) {
    case DSHAL_DTYPE_F32: return dot_w_m<DSHAL_DTYPE_F32>(a, lda, m, w, n0, n, k0, kc, acc);
    case DSHAL_DTYPE_F16: return dot_w_m<DSHAL_DTYPE_F16>(a, lda, m, w, n0, n, k0, kc, acc);
    case DSHAL_DTYPE_BF16: return dot_w_m<DSHAL_DTYPE_BF16>(a, lda, m, w, n0, n, k0, kc, acc);
    case DSHAL_DTYPE_FP8_E4M3: return dot_w_m<DSHAL_DTYPE_FP8_E4M3>(a, lda, m, w, n0, n, k0, kc, acc);
    case DSHAL_DTYPE_INT4: return dot_w_m<DSHAL_DTYPE_INT4>(a, lda, m, w, n0, n, k0, kc, acc);
    default: return;
  }
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

void dot_f32_any(const float* a, int64_t lda, int m, const float* w, int64_t ldw, int n, int64_t kc, float* acc) {
  DSHAL_DOT_SWITCH(dot_f32_t, a, lda, m, w, ldw, n, kc, acc)
}

void dot_bf16_any(const uint16_t* a, int64_t lda, int m, const uint16_t* w, int64_t ldw, int n, int64_t kc, float* acc) {
  DSHAL_DOT_SWITCH(dot_bf16_t, a, lda, m, w, ldw, n, kc, acc)
}
#undef DSHAL_DOT_SWITCH

}  // namespace

namespace avx512 {

void convert_w(const Src& w, int64_t r0, int rows, int64_t k0, int64_t kc, float* dst, int64_t ldd) {
  convert_w_any(w, r0, rows, k0, kc, dst, ldd);
}
void dot_f32(const float* a, int64_t lda, int m, const float* w, int64_t ldw, int n, int64_t kc, float* acc) {
  dot_f32_any(a, lda, m, w, ldw, n, kc, acc);
}
void dot_bf16(const uint16_t* a, int64_t lda, int m, const uint16_t* w, int64_t ldw, int n, int64_t kc, float* acc) {
  dot_bf16_any(a, lda, m, w, ldw, n, kc, acc);
}
void dot_w(const float* a, int64_t lda, int m, const Src& w, int64_t n0, int n, int64_t k0, int64_t kc, float* acc) {
  dot_w_any(a, lda, m, w, n0, n, k0, kc, acc);
}

}  // namespace avx512
}  // namespace dshal::host::gemm_detail
