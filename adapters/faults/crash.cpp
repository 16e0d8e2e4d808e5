// adapters/faults/crash.cpp: fault-crash, a GEMM kernel that crashes on K == 0 (it reads the first
// element of an empty A, as a port does that never thought of K == 0; memory_fault() is that read).
// Caught (status crashed, signal SIGSEGV) by core/Gemm.MatchesFp64Reference/f32_k0, once the runner
// isolates cases.
#include "fault_plugin.hpp"

namespace dshal_faults {
namespace {

dshal_status gemm_crashing_on_k0(dshal_stream stream, const dshal_gemm_desc* desc) {
  if (desc->k != 0) return dshal_template::table().gemm(stream, desc);
  return dshal_template::guarded("gemm", [&] {
    stream->enqueue([] {
      memory_fault();
      return dshal_template::WorkResult{DSHAL_ERROR_INTERNAL, "fault-crash: mmap failed"};
    });
    return DSHAL_OK;
  });
}

dshal_adapter_table make_table() {
  dshal_adapter_table t = derived_table("fault-crash", "fault plugin: the template with a GEMM that crashes when K == 0");
  t.gemm = gemm_crashing_on_k0;
  return t;
}

}  // namespace
}  // namespace dshal_faults

DSHAL_FAULT_PLUGIN_ENTRY(dshal_faults::make_table)
