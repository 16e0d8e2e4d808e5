// opencl attention (MLA naive and absorbed).
#include "opencl.hpp"

namespace dshal::opencl {

void fill_attention_slots(dshal_adapter_table*) {}

}  // namespace dshal::opencl
