// Thread bodies of rms_norm and silu_mul (hd.hpp explains the pattern): one thread per row for the
// norm (a row's sum of squares in a fixed order), one per element for silu_mul.
#pragma once

#include "hd.hpp"

#include <cmath>

namespace dshal::cuda::kernels {

struct RmsNormArgs {
  Rows x, weight;  // weight: one row of cols
  MutRows out;     // may alias x exactly
  uint64_t rows = 0, cols = 0;
  float eps = 0;
};
inline LaunchShape rms_norm_shape(const RmsNormArgs& a) { return cover_1d(a.rows, 128); }
// Row r: out = x / sqrt(mean(x^2) + eps) * weight. Each element is read before the same element is
// written, so out may alias x.
DSHAL_HD inline void rms_norm_thread(Index3 block, Index3 thread, Index3 block_dim, const RmsNormArgs& a) {
  const uint64_t r = flat_x(block, thread, block_dim);
  if (r >= a.rows) return;
  const void* x = a.x.row(r);
  float sum = 0.0f;
  for (uint64_t c = 0; c < a.cols; ++c) {
    const float v = load(x, a.x.dtype, c);
    sum += v * v;
  }
  const float inv = 1.0f / sqrtf(sum / float(a.cols) + a.eps);
  void* out = a.out.row(r);
  for (uint64_t c = 0; c < a.cols; ++c)
    store(out, a.out.dtype, c, load(x, a.x.dtype, c) * inv * load(a.weight.base, a.weight.dtype, c));
}

struct SiluMulArgs {
  Rows gate, up;
  MutRows out;  // may alias gate or up
  uint64_t rows = 0, cols = 0;
};
inline LaunchShape silu_mul_shape(const SiluMulArgs& a) { return cover_1d(a.rows * a.cols); }
DSHAL_HD inline void silu_mul_thread(Index3 block, Index3 thread, Index3 block_dim, const SiluMulArgs& a) {
  const uint64_t i = flat_x(block, thread, block_dim);
  if (i >= a.rows * a.cols) return;
  const uint64_t r = i / a.cols, c = i % a.cols;
  const float g = load(a.gate.row(r), a.gate.dtype, c);
  store(a.out.row(r), a.out.dtype, c, g / (1.0f + expf(-g)) * load(a.up.row(r), a.up.dtype, c));
}

}  // namespace dshal::cuda::kernels
