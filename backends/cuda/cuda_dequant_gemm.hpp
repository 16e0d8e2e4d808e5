// gemm_quant for prefill shapes: dequantize W, then cuBLASLt (cuda_dequant_gemm.cpp). The slot
// (cuda_ops.cpp) takes this path when kernels::use_dequant_gemm (kernels/dequant.hpp) says so.
#pragma once

#include "cuda.hpp"

namespace dshal::cuda {

// C = alpha * A * dequant(W)^T + beta * C, queued on stream; W FP8_E4M3 or INT4, alpha != 0, K > 0.
dshal_status dequant_gemm_quant(dshal_stream stream, const dshal_gemm_quant_desc* d);

}  // namespace dshal::cuda
