// Thread bodies of rope and softmax (hd.hpp explains the pattern): one thread per rotated pair for
// rope, one per row for softmax (its max and sum in a fixed order, as hal/host/ops/softmax.cpp).
#pragma once

#include "rows_hd.hpp"

#include <cmath>

namespace dshal::cuda::kernels {

struct RopeArgs {
  void* x = nullptr;  // x[0][0][start of the rotated part]
  dshal_dtype dtype = DSHAL_DTYPE_F32;
  uint64_t token_stride = 0, head_stride = 0;  // elements
  const int32_t* positions = nullptr;
  const float *cos_table = nullptr, *sin_table = nullptr;  // [max_position][half]
  uint64_t tokens = 0, heads = 0, half = 0, max_position = 0;
  int32_t* status = nullptr;  // the stream's status words
};
inline LaunchShape rope_shape(const RopeArgs& a) { return cover_1d(a.tokens * a.heads * a.half); }
// Pair i of head h of token t, the flat index being (t * heads + h) * half + i. A position outside
// [0, max_position) lives on the device, where hal cannot check it: it is reported (by the token's
// first thread; the first report of the launch wins) and the token is left as it is rather than
// rotated with memory past the tables, as backends/opencl does.
DSHAL_HD inline void rope_thread(Index3 block, Index3 thread, Index3 block_dim, const RopeArgs& a) {
  const uint64_t k = flat_x(block, thread, block_dim);
  if (k >= a.tokens * a.heads * a.half) return;
  const uint64_t i = k % a.half, th = k / a.half, h = th % a.heads, t = th / a.heads;
  const int32_t p = a.positions[t];
  if (p < 0 || uint64_t(p) >= a.max_position) {
    if (h == 0 && i == 0) report_status(a.status, 3 /* DSHAL_STATUS_ROPE_POSITION */, int32_t(t), p, int32_t(a.max_position));
    return;
  }
  const float c = a.cos_table[uint64_t(p) * a.half + i], s = a.sin_table[uint64_t(p) * a.half + i];
  const uint64_t e = t * a.token_stride + h * a.head_stride + 2 * i;
  const float x0 = load(a.x, a.dtype, e), x1 = load(a.x, a.dtype, e + 1);
  store(a.x, a.dtype, e, mul_rn(x0, c) - mul_rn(x1, s));
  store(a.x, a.dtype, e + 1, mul_rn(x1, c) + mul_rn(x0, s));
}

struct SoftmaxArgs {
  Rows x;
  MutRows out;  // may alias x exactly
  uint64_t rows = 0, cols = 0;
  float scale = 1.0f;
  uint32_t causal = 0;
  uint64_t row_period = 0, causal_offset = 0;
};
inline LaunchShape softmax_shape(const SoftmaxArgs& a) { return cover_1d(a.rows, 128); }
// Columns [0, visible) of row r take part. Causal: row r is query i = r % row_period and sees
// columns c <= i + causal_offset (all of them once causal_offset >= cols, without overflowing).
DSHAL_HD inline uint64_t softmax_visible(const SoftmaxArgs& a, uint64_t r) {
  if (!a.causal) return a.cols;
  const uint64_t i = a.row_period ? r % a.row_period : r;
  if (a.causal_offset >= a.cols) return a.cols;
  const uint64_t v = i + a.causal_offset + 1;
  return v < a.cols ? v : a.cols;
}
// Row r: out = exp(scale * x - max) / sum, masked columns 0. The same operations in the same order
// as the host (sum in double), so on the host the results are bit-identical; on a GPU only expf
// differs (CUDA's is within 2 ulp). exp is recomputed in the last pass instead of kept in a
// scratch row: the same inputs give the same value, and out[c] is written only after x[c] is read
// for the last time, so out may alias x.
DSHAL_HD inline void softmax_thread(Index3 block, Index3 thread, Index3 block_dim, const SoftmaxArgs& a) {
  const uint64_t r = flat_x(block, thread, block_dim);
  if (r >= a.rows) return;
  const uint64_t visible = softmax_visible(a, r);
  const void* x = a.x.row(r);
  float max = -INFINITY;
  for (uint64_t c = 0; c < visible; ++c) {
    const float v = mul_rn(a.scale, load(x, a.x.dtype, c));
    max = max < v ? v : max;  // std::max's rule: a NaN never becomes the max
  }
  double sum = 0.0;
  for (uint64_t c = 0; c < visible; ++c) sum += double(expf(mul_rn(a.scale, load(x, a.x.dtype, c)) - max));
  const float inv = float(1.0 / sum);
  void* out = a.out.row(r);
  for (uint64_t c = 0; c < visible; ++c)
    store(out, a.out.dtype, c, expf(mul_rn(a.scale, load(x, a.x.dtype, c)) - max) * inv);
  for (uint64_t c = visible; c < a.cols; ++c) store(out, a.out.dtype, c, 0.0f);
}

}  // namespace dshal::cuda::kernels
