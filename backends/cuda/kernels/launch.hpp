// The launchers of backends/cuda's kernels (the .cu files), callable from host C++: each turns a
// validated descriptor into its kernel's arguments, launches on the stream and returns the launch
// error (gpuSuccess when queued).
#pragma once

#include <dshal/adapter.h>

#include "cuda.hpp"

namespace dshal::cuda::kernels {

// Launched on s.stream; kernels that check device-resident input report into s.status.
gpuError_t launch_rms_norm(const Stream& s, const dshal_rms_norm_desc& d);
gpuError_t launch_silu_mul(const Stream& s, const dshal_silu_mul_desc& d);
gpuError_t launch_gemm_quant(const Stream& s, const dshal_gemm_quant_desc& d);
gpuError_t launch_grouped_gemm(const Stream& s, const dshal_grouped_gemm_desc& d);  // checks the offsets too
gpuError_t launch_attention(const Stream& s, const dshal_attention_desc& d);

}  // namespace dshal::cuda::kernels
