// Launchers of the rope, softmax, elementwise and embedding kernels (kernels/rows.cu), callable from
// host C++: each turns a validated descriptor into its kernel's arguments, launches on s.stream and
// returns the launch error (gpuSuccess when queued). rope and embedding report bad positions / ids
// into s.status.
#pragma once

#include <dshal/adapter.h>

#include "cuda.hpp"

namespace dshal::cuda::kernels {

gpuError_t launch_rope(const Stream& s, const dshal_rope_desc& d);
gpuError_t launch_softmax(const Stream& s, const dshal_softmax_desc& d);
gpuError_t launch_elementwise(const Stream& s, const dshal_elementwise_desc& d);
gpuError_t launch_embedding(const Stream& s, const dshal_embedding_desc& d);

}  // namespace dshal::cuda::kernels
