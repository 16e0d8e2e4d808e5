// adapters/faults/close_crash.cpp: fault-close-crash, a device_close that crashes (a port freeing
// its device state twice, say). Every case passes; the crash comes when the worker closes its
// devices after its last case, which the runner records as core/Worker.ExitsCleanlyAfterItsCases
// (status crashed, signal SIGSEGV), failing the run.
#include "fault_plugin.hpp"

namespace dshal_faults {
namespace {

dshal_status device_close_crashing(dshal_device) {
  memory_fault();
  return DSHAL_ERROR_INTERNAL;  // mmap failed: no fault could be made
}

dshal_adapter_table make_table() {
  dshal_adapter_table t = derived_table("fault-close-crash", "fault plugin: the template with a device_close that crashes");
  t.device_close = device_close_crashing;
  return t;
}

}  // namespace
}  // namespace dshal_faults

DSHAL_FAULT_PLUGIN_ENTRY(dshal_faults::make_table)
