// Placeholder until the family's shaders land: its slots stay empty (hal's host fallback).
#include "vulkan_ops.hpp"

namespace dshal::vulkan {

void fill_weight_gemm_slots(dshal_adapter_table*) {}

}  // namespace dshal::vulkan
