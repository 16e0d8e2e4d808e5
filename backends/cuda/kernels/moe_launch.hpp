// The launchers of the MoE kernels (moe.cu), callable from host C++: each turns a validated
// descriptor into its kernels' arguments, launches on s.stream and returns the first launch error
// (gpuSuccess when queued).
#pragma once

#include <dshal/adapter.h>

#include "cuda.hpp"

namespace dshal::cuda::kernels {

gpuError_t launch_moe_route(const Stream& s, const dshal_moe_route_desc& d);
// Runs for tokens == 0 as well: expert_offsets is written (all zero) then.
gpuError_t launch_moe_permute(const Stream& s, const dshal_moe_permute_desc& d);
// Takes tokens * top_k int32 of stream-ordered scratch for the inverse of perm.
gpuError_t launch_moe_unpermute(const Stream& s, const dshal_moe_unpermute_desc& d);

}  // namespace dshal::cuda::kernels
