// opencl optional ops (norms, activations, elementwise, embedding, MoE routing and permutation):
// each family fills its slots from its own file.
#include "opencl_ops.hpp"

namespace dshal::opencl {

void fill_ops_slots(dshal_adapter_table* t) {
  fill_norm_act_slots(t);
  fill_elementwise_slots(t);
  fill_moe_slots(t);
}

}  // namespace dshal::opencl
