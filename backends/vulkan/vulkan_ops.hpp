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

// C = beta * C over m x n (batch of them) of C bound as c, without reading C when beta == 0: gemm
// and gemm_quant with K == 0 or alpha == 0 (vulkan_gemm.cpp). With s->m held.
dshal_status scale_c(Stream* s, const Bound& c, const dshal_matrix& cm, uint64_t m, uint64_t n, uint64_t batch,
                     float beta);

}  // namespace dshal::vulkan
