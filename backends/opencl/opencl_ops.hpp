// Shared by the optional-op files (opencl_norm_act.cpp, opencl_elementwise.cpp, opencl_moe.cpp):
// their slot fillers and the work-group size their kernels use.
#pragma once

#include "opencl.hpp"

namespace dshal::opencl {

void fill_norm_act_slots(dshal_adapter_table* t);     // rms_norm, rope, softmax, silu_mul
void fill_elementwise_slots(dshal_adapter_table* t);  // elementwise, embedding
void fill_moe_slots(dshal_adapter_table* t);          // moe_route, moe_permute, moe_unpermute

// Work-items per group for `width` items of work: the power of two that covers width, at most 256
// and the device's limit. A power of two because the tree reductions need one; explicit because
// PoCL, left to choose, picks groups that divide the global size (1 for a prime n).
inline size_t work_group(const Stream* s, uint64_t width) {
  size_t g = 1;
  while (g < 256 && g < width && g * 2 <= s->device->info->max_work_group) g *= 2;
  return g;
}

}  // namespace dshal::opencl
