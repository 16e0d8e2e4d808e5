// Portable C++ GEMM kernels: any CPU, auto-vectorized by the compiler; the reference for the AVX-512
// kernels and the path on machines without AVX-512.
#include <cstring>

#include "gemm_internal.hpp"
#include "host/dtype.hpp"

namespace dshal::host::gemm_detail {
namespace {

constexpr int kMr = 4, kNr = 16;

template <dshal_dtype T>
inline float raw(const void* p, int64_t i) {
  if constexpr (T == DSHAL_DTYPE_F32) {
    float v;
    std::memcpy(&v, static_cast<const float*>(p) + i, 4);
    return v;
  } else if constexpr (T == DSHAL_DTYPE_F16 || T == DSHAL_DTYPE_BF16) {
    uint16_t h;
    std::memcpy(&h, static_cast<const uint16_t*>(p) + i, 2);
    return T == DSHAL_DTYPE_F16 ? f16_to_f32(h) : bf16_to_f32(h);
  } else if constexpr (T == DSHAL_DTYPE_FP8_E4M3) {
    return fp8_e4m3_to_f32(static_cast<const uint8_t*>(p)[i]);
  } else {
    return float(int4_at(static_cast<const uint8_t*>(p), uint64_t(i)));
  }
}

// Packs rows [r0, r0 + rows) x k [k0, k0 + kc) into dst[k][P], zero padding rows >= rows.
template <dshal_dtype T, int P>
void pack_t(const Src& s, int64_t r0, int rows, int64_t k0, int64_t kc, void* dstv) {
  float* dst = static_cast<float*>(dstv);
  for (int64_t k = 0; k < kc; ++k) {
    float* d = dst + k * P;
    for (int r = 0; r < P; ++r) {
      if (r >= rows) {
        d[r] = 0.0f;
        continue;
      }
      const int64_t rr = r0 + r, kk = k0 + k;
      float v = raw<T>(s.p, rr * s.rs + kk * s.ks);
      if constexpr (T == DSHAL_DTYPE_FP8_E4M3 || T == DSHAL_DTYPE_INT4)
        v *= s.scales[(rr / s.bn) * s.scale_ld + kk / s.bk];
      d[r] = v;
    }
  }
}

template <int P>
void pack(const Src& s, int64_t r0, int rows, int64_t k0, int64_t kc, void* dst) {
  switch (s.t) {
    case DSHAL_DTYPE_F32: return pack_t<DSHAL_DTYPE_F32, P>(s, r0, rows, k0, kc, dst);
    case DSHAL_DTYPE_F16: return pack_t<DSHAL_DTYPE_F16, P>(s, r0, rows, k0, kc, dst);
    case DSHAL_DTYPE_BF16: return pack_t<DSHAL_DTYPE_BF16, P>(s, r0, rows, k0, kc, dst);
    case DSHAL_DTYPE_FP8_E4M3: return pack_t<DSHAL_DTYPE_FP8_E4M3, P>(s, r0, rows, k0, kc, dst);
    case DSHAL_DTYPE_INT4: return pack_t<DSHAL_DTYPE_INT4, P>(s, r0, rows, k0, kc, dst);
    default: return;
  }
}

void ukr(int64_t kc, const void* av, const void* bv, float* c, int64_t ldc, int m, int n, float alpha, float beta,
         const void* const* pf, int npf) {
  for (int i = 0; i < npf; ++i) __builtin_prefetch(pf[i], 0, 2);
  const float* a = static_cast<const float*>(av);
  const float* b = static_cast<const float*>(bv);
  float acc[kMr][kNr] = {};
  for (int64_t k = 0; k < kc; ++k, a += kMr, b += kNr)
    for (int i = 0; i < kMr; ++i)
      for (int j = 0; j < kNr; ++j) acc[i][j] += a[i] * b[j];
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      float* p = c + i * ldc + j;
      *p = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * *p;
    }
}

template <dshal_dtype T>
void convert_w_t(const Src& w, int64_t r0, int rows, int64_t k0, int64_t kc, float* dst, int64_t ldd) {
  const int64_t kc16 = (kc + 15) / 16 * 16;
  for (int r = 0; r < rows; ++r) {
    const int64_t rr = r0 + r;
    float* d = dst + r * ldd;
    for (int64_t k = 0; k < kc; ++k) {
      float v = raw<T>(w.p, rr * w.rs + k0 + k);
      if constexpr (T == DSHAL_DTYPE_FP8_E4M3 || T == DSHAL_DTYPE_INT4)
        v *= w.scales[(rr / w.bn) * w.scale_ld + (k0 + k) / w.bk];
      d[k] = v;
    }
    for (int64_t k = kc; k < kc16; ++k) d[k] = 0.0f;
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

void dot_f32(const float* a, int64_t lda, int m, const float* w, int64_t ldw, int n, int64_t kc, float* acc) {
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      const float* x = a + i * lda;
      const float* y = w + j * ldw;
      float* s = acc + (i * 4 + j) * 16;
      int64_t k = 0;
      for (; k + 16 <= kc; k += 16)
        for (int l = 0; l < 16; ++l) s[l] += x[k + l] * y[k + l];
      for (int l = 0; k < kc; ++k, ++l) s[l] += x[k] * y[k];
    }
}

}  // namespace

void row_to_f32(const void* p, dshal_dtype t, int64_t idx0, int64_t stride, int64_t n, float* dst) {
  switch (t) {
    case DSHAL_DTYPE_F32: {
      const float* s = static_cast<const float*>(p) + idx0;
      if (stride == 1) {
        std::memcpy(dst, s, size_t(n) * 4);
      } else {
        for (int64_t i = 0; i < n; ++i) dst[i] = s[i * stride];
      }
      return;
    }
    case DSHAL_DTYPE_BF16: {
      const uint16_t* s = static_cast<const uint16_t*>(p) + idx0;
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i * stride]);
      return;
    }
    case DSHAL_DTYPE_F16: {
      const uint16_t* s = static_cast<const uint16_t*>(p) + idx0;
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i * stride]);
      return;
    }
    default:
      for (int64_t i = 0; i < n; ++i) dst[i] = load_f32(p, t, uint64_t(idx0 + i * stride));
  }
}

const Isa& portable_isa() {
  static const Isa isa = [] {
    Isa i;
    i.name = "portable";
    i.f32.mr = kMr;
    i.f32.nr = kNr;
    i.f32.kpack = 1;
    i.f32.kc = 256;
    i.f32.nc = 256;
    i.f32.pack_a = pack<kMr>;
    i.f32.pack_b = pack<kNr>;
    i.f32.ukr = ukr;
    i.gemv.convert_w = convert_w;
    i.gemv.dot_f32 = dot_f32;
    return i;
  }();
  return isa;
}

}  // namespace dshal::host::gemm_detail
