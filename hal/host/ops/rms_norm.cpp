// RMSNorm host kernel: out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight, in f32, parallel over rows.
#include "host/ops/common.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <cmath>
#include <vector>

namespace dshal::host {
namespace {

// Sum of squares with 16 independent partial sums (vectorizes; fixed order, thread-independent).
DSHAL_HOST_SIMD_CLONES float sum_squares(const float* x, uint64_t n) {
  float acc[16] = {};
  uint64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) acc[l] += x[i + l] * x[i + l];
  for (int l = 0; i < n; ++i, ++l) acc[l] += x[i] * x[i];
  for (int w = 8; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}

}  // namespace

dshal_status rms_norm(const dshal_rms_norm_desc& d, std::string* error) {
  if (d.rows == 0 || d.cols == 0) return DSHAL_OK;
  std::vector<float> weight(d.cols);
  ops::load_row(host_ptr(d.weight.buffer, d.weight.offset), d.weight.dtype, d.cols, weight.data());
  const uint64_t grain = std::max<uint64_t>(1, 16384 / d.cols);
  tbb::parallel_for(tbb::blocked_range<uint64_t>(0, d.rows, grain), [&](const tbb::blocked_range<uint64_t>& range) {
    std::vector<float> row(d.cols);
    for (uint64_t r = range.begin(); r != range.end(); ++r) {
      // The whole row is read before any of it is written: out may alias x.
      ops::load_row(ops::row_ptr(d.x, r), d.x.dtype, d.cols, row.data());
      const float mean = sum_squares(row.data(), d.cols) / float(d.cols);
      const float inv = 1.0f / std::sqrt(mean + d.eps);
      for (uint64_t c = 0; c < d.cols; ++c) row[c] = row[c] * inv * weight[c];
      ops::store_row(row.data(), d.cols, ops::row_ptr(d.out, r), d.out.dtype);
    }
  });
  return DSHAL_OK;
}

}  // namespace dshal::host
