// RoPE host kernel: rotates interleaved pairs of x in place with f32 cos/sin tables, per token/head.
#include "host/ops/common.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <vector>

namespace dshal::host {

dshal_status rope(const dshal_rope_desc& d, std::string* error) {
  if (d.tokens == 0 || d.heads == 0 || d.dim == 0) return DSHAL_OK;
  const auto* positions = host_ptr<const int32_t>(d.positions.buffer, d.positions.offset);
  for (uint64_t t = 0; t < d.tokens; ++t)
    if (positions[t] < 0 || uint64_t(positions[t]) >= d.max_position)
      return ops::fail(error, DSHAL_ERROR_INVALID_ARGUMENT,
                       "rope: positions[" + std::to_string(t) + "] = " + std::to_string(positions[t]) +
                           " is outside [0, max_position = " + std::to_string(d.max_position) + ")");
  const auto* cos_table = host_ptr<const float>(d.cos_table.buffer, d.cos_table.offset);
  const auto* sin_table = host_ptr<const float>(d.sin_table.buffer, d.sin_table.offset);
  const uint64_t half = d.dim / 2;
  const uint64_t rows = d.tokens * d.heads;
  tbb::parallel_for(tbb::blocked_range<uint64_t>(0, rows, std::max<uint64_t>(1, 8192 / d.dim)),
                    [&](const tbb::blocked_range<uint64_t>& range) {
    std::vector<float> x(2 * half);
    for (uint64_t r = range.begin(); r != range.end(); ++r) {
      const uint64_t t = r / d.heads, h = r % d.heads;
      std::byte* p = ops::elem_ptr(d.buffer, d.offset, d.dtype, t * d.token_stride + h * d.head_stride);
      const float* c = cos_table + uint64_t(positions[t]) * half;
      const float* s = sin_table + uint64_t(positions[t]) * half;
      ops::load_row(p, d.dtype, 2 * half, x.data());
      for (uint64_t i = 0; i < half; ++i) {
        const float x0 = x[2 * i], x1 = x[2 * i + 1];
        x[2 * i] = x0 * c[i] - x1 * s[i];
        x[2 * i + 1] = x1 * c[i] + x0 * s[i];
      }
      ops::store_row(x.data(), 2 * half, p, d.dtype);
    }
  });
  return DSHAL_OK;
}

}  // namespace dshal::host
