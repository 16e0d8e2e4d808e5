// The optional ops of backends/vulkan, one family per file; each fills its own slots of the table
// (vulkan_adapter.cpp calls them all).
#pragma once

#include "vulkan.hpp"

namespace dshal::vulkan {

void fill_norm_act_slots(dshal_adapter_table* t);      // rms_norm, rope, softmax, silu_mul (vulkan_norm_act.cpp)
void fill_elementwise_slots(dshal_adapter_table* t);   // elementwise, embedding (vulkan_elementwise.cpp)
void fill_moe_slots(dshal_adapter_table* t);           // moe_route, moe_permute, moe_unpermute (vulkan_moe.cpp)
void fill_weight_gemm_slots(dshal_adapter_table* t);   // grouped_gemm, gemm_quant, prepack_weight (vulkan_weight_gemm.cpp)
void fill_attention_slots(dshal_adapter_table* t);     // attention (vulkan_attention.cpp)

}  // namespace dshal::vulkan
