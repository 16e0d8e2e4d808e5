// opencl optional ops (norms, activations, elementwise, embedding, MoE routing and permutation).
#include "opencl.hpp"

namespace dshal::opencl {

void fill_ops_slots(dshal_adapter_table*) {}

}  // namespace dshal::opencl
