// Launches of the dequantize and convert bodies (dequant.hpp) for gemm_quant's dequantize-then-GEMM path.
#include "args.hpp"
#include "dequant.hpp"
#include "dequant_launch.hpp"
#include "launch.hpp"

namespace dshal::cuda::kernels {

gpuError_t launch_dequant_weight(const Stream& s, const dshal_weight& w, uint64_t k, uint64_t n0, uint64_t rows, float* out) {
  DequantArgs a;
  a.w = view_of(w, k);
  a.n0 = n0;
  a.rows = rows;
  a.out = out;
  return launch<DequantArgs, dequant_weight_thread>(s.stream, dequant_shape(a), a);
}

gpuError_t launch_dequant_convert(const Stream& s, const Rows& src, const MutRows& dst, uint64_t rows, uint64_t cols) {
  const DequantConvertArgs a{src, dst, rows, cols};
  return launch<DequantConvertArgs, dequant_convert_thread>(s.stream, dequant_convert_shape(a), a);
}

}  // namespace dshal::cuda::kernels
