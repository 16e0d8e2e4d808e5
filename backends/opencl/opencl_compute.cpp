// The compute slots, filled by the file of each op family.
#include "opencl.hpp"

namespace dshal::opencl {

void fill_compute_slots(dshal_adapter_table* t) {
  fill_gemm_slots(t);
  fill_ops_slots(t);
  fill_attention_slots(t);
}

}  // namespace dshal::opencl
