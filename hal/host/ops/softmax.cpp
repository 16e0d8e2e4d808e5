// Row softmax host kernel: softmax(scale * x) per row in f32, with an optional causal mask.
#include "host/ops/common.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace dshal::host {

dshal_status softmax(const dshal_softmax_desc& d, std::string* error) {
  if (d.rows == 0 || d.cols == 0) return DSHAL_OK;
  tbb::parallel_for(tbb::blocked_range<uint64_t>(0, d.rows, std::max<uint64_t>(1, 8192 / d.cols)),
                    [&](const tbb::blocked_range<uint64_t>& range) {
    std::vector<float> row(d.cols);
    for (uint64_t r = range.begin(); r != range.end(); ++r) {
      ops::load_row(ops::row_ptr(d.x, r), d.x.dtype, d.cols, row.data());
      // Columns [0, visible) take part; the rest are masked to weight 0.
      uint64_t visible = d.cols;
      if (d.causal) {
        const uint64_t i = d.row_period ? r % d.row_period : r;
        visible = d.causal_offset >= d.cols ? d.cols : std::min<uint64_t>(d.cols, i + d.causal_offset + 1);
      }
      float max = -std::numeric_limits<float>::infinity();
      for (uint64_t c = 0; c < visible; ++c) {
        row[c] *= d.scale;
        max = std::max(max, row[c]);
      }
      double sum = 0.0;  // a double sum keeps wide rows accurate at no real cost next to exp
      for (uint64_t c = 0; c < visible; ++c) {
        row[c] = std::exp(row[c] - max);
        sum += row[c];
      }
      const float inv = float(1.0 / sum);
      for (uint64_t c = 0; c < visible; ++c) row[c] *= inv;
      std::fill(row.begin() + visible, row.end(), 0.0f);
      ops::store_row(row.data(), d.cols, ops::row_ptr(d.out, r), d.out.dtype);
    }
  });
  return DSHAL_OK;
}

}  // namespace dshal::host
