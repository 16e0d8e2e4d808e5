// SiLU-and-multiply host kernel: out = silu(gate) * up, in f32, parallel over rows.
#include "host/ops/common.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <cmath>
#include <vector>

namespace dshal::host {

dshal_status silu_mul(const dshal_silu_mul_desc& d, std::string* error) {
  if (d.rows == 0 || d.cols == 0) return DSHAL_OK;
  tbb::parallel_for(tbb::blocked_range<uint64_t>(0, d.rows, std::max<uint64_t>(1, 8192 / d.cols)),
                    [&](const tbb::blocked_range<uint64_t>& range) {
    std::vector<float> g(d.cols), u(d.cols);
    for (uint64_t r = range.begin(); r != range.end(); ++r) {
      // Both inputs are read before the row is written: out may alias gate or up.
      ops::load_row(ops::row_ptr(d.gate, r), d.gate.dtype, d.cols, g.data());
      ops::load_row(ops::row_ptr(d.up, r), d.up.dtype, d.cols, u.data());
      for (uint64_t c = 0; c < d.cols; ++c) g[c] = g[c] / (1.0f + std::exp(-g[c])) * u[c];
      ops::store_row(g.data(), d.cols, ops::row_ptr(d.out, r), d.out.dtype);
    }
  });
  return DSHAL_OK;
}

}  // namespace dshal::host
