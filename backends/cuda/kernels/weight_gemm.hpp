// Thread bodies of gemm_quant and grouped_gemm: C[r][n] = sum_k A[r][k] * W[n][k] with W
// dequantized on the fly (f32 / f16 / bf16, FP8 e4m3 with block scales, INT4 with group scales),
// one thread per output element, accumulating in f32 in k order. Grouped: row r uses the weights
// of the group whose [offsets[g], offsets[g+1]) holds it; rows outside every group are not
// written; a separate one-thread launch checks the offsets and reports broken ones (status code 2).
// Correct everywhere, fast nowhere: the tiled tensor-core path is still to come.
#pragma once

#include "hd.hpp"

namespace dshal::cuda::kernels {

// W[N][K] of one group, as dshal_weight describes it.
struct WeightView {
  const void* w = nullptr;
  dshal_dtype dtype = DSHAL_DTYPE_F32;
  uint64_t ld = 0;               // unquantized types
  const float* scales = nullptr;  // FP8 / INT4: [ceil(N/block_n)][ceil(K/block_k)]
  uint32_t block_n = 1, block_k = 1;
  uint64_t k = 0;
};

DSHAL_HD inline float weight_at(const WeightView& v, uint64_t n, uint64_t k) {
  if (v.dtype == DSHAL_DTYPE_FP8_E4M3 || v.dtype == DSHAL_DTYPE_INT4) {
    const uint64_t i = n * v.k + k, scale_cols = (v.k + v.block_k - 1) / v.block_k;
    const float q = v.dtype == DSHAL_DTYPE_FP8_E4M3 ? fp8_e4m3_to_f32(static_cast<const uint8_t*>(v.w)[i])
                                                     : float(int4_at(static_cast<const uint8_t*>(v.w), i));
    return q * v.scales[(n / v.block_n) * scale_cols + k / v.block_k];
  }
  return load(v.w, v.dtype, n * v.ld + k);
}

struct WeightGemmArgs {
  Rows a;
  WeightView w;                 // group 0's
  uint64_t w_group_stride = 0;  // bytes, grouped only
  uint64_t scales_group_stride = 0;
  const int32_t* offsets = nullptr;  // grouped: groups + 1 entries; null for gemm_quant
  uint64_t groups = 0;
  MutRows c;
  uint64_t m = 0, n = 0, k = 0;
  float alpha = 1.0f, beta = 0.0f;
};

inline LaunchShape weight_gemm_shape(const WeightGemmArgs& a) { return cover_1d(a.m * a.n); }

// The group holding row r (grouped), or -1 when no group holds it. Safe for any offsets.
DSHAL_HD inline int64_t group_of(const WeightGemmArgs& a, uint64_t r) {
  uint64_t lo = 0, hi = a.groups;  // the last g with offsets[g] <= r
  if (int64_t(r) < a.offsets[0]) return -1;
  while (hi - lo > 1) {
    const uint64_t mid = (lo + hi) / 2;
    if (int64_t(a.offsets[mid]) <= int64_t(r)) lo = mid;
    else hi = mid;
  }
  return int64_t(r) < a.offsets[lo + 1] ? int64_t(lo) : -1;
}

DSHAL_HD inline void weight_gemm_thread(Index3 block, Index3 thread, Index3 block_dim, const WeightGemmArgs& a) {
  const uint64_t i = flat_x(block, thread, block_dim);
  if (i >= a.m * a.n) return;
  const uint64_t r = i / a.n, n = i % a.n;
  WeightView w = a.w;
  if (a.offsets) {
    const int64_t g = group_of(a, r);
    if (g < 0) return;
    w.w = static_cast<const char*>(w.w) + uint64_t(g) * a.w_group_stride;
    if (w.scales) w.scales = reinterpret_cast<const float*>(reinterpret_cast<const char*>(w.scales) + uint64_t(g) * a.scales_group_stride);
  }
  float acc = 0.0f;
  if (a.alpha != 0.0f) {
    const void* row = a.a.row(r);
    for (uint64_t k = 0; k < a.k; ++k) acc += load(row, a.a.dtype, k) * weight_at(w, n, k);
  }
  void* out = a.c.row(r);
  const float prior = a.beta != 0.0f ? a.beta * load(out, a.c.dtype, n) : 0.0f;  // beta == 0: C not read
  store(out, a.c.dtype, n, a.alpha * acc + prior);
}

// One thread: offsets must satisfy 0 <= offsets[0] <= ... <= offsets[groups] <= m.
inline LaunchShape offsets_check_shape() { return {{1, 1, 1}, {1, 1, 1}}; }
struct OffsetsCheckArgs {
  const int32_t* offsets = nullptr;
  uint64_t groups = 0, m = 0;
  int32_t* status = nullptr;
};
DSHAL_HD inline void offsets_check_thread(Index3, Index3, Index3, const OffsetsCheckArgs& a) {
  for (uint64_t g = 0; g <= a.groups; ++g) {
    const int32_t o = a.offsets[g];
    if (o < 0 || uint64_t(o) > a.m || (g > 0 && o < a.offsets[g - 1])) {
      report_status(a.status, 2, int32_t(g), o, int32_t(a.m));
      return;
    }
  }
}

}  // namespace dshal::cuda::kernels
