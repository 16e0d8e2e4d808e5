// adapters/faults/gemm_beta.cpp: fault-gemm-beta, a GEMM that ignores beta: C = alpha * op(A) op(B),
// as when a port calls a kernel that always overwrites C. Caught by the GEMM cases with beta != 0.
#include "fault_plugin.hpp"

namespace dshal_faults {
namespace {

dshal_status gemm_ignoring_beta(dshal_stream stream, const dshal_gemm_desc* desc) {
  dshal_gemm_desc d = *desc;
  d.beta = 0;  // the fault: the old C never enters the result
  return dshal_template::table().gemm(stream, &d);
}

dshal_adapter_table make_table() {
  dshal_adapter_table t = derived_table("fault-gemm-beta", "fault plugin: the template with a GEMM that ignores beta");
  t.gemm = gemm_ignoring_beta;
  return t;
}

}  // namespace
}  // namespace dshal_faults

DSHAL_FAULT_PLUGIN_ENTRY(dshal_faults::make_table)
