// adapters/faults/crash.cpp: fault-crash, a GEMM kernel that crashes on K == 0 (it reads the first
// element of an empty A, as a port does that never thought of K == 0). The read is a real memory
// fault: it goes through a volatile pointer into a page mapped with no access, so the compiler
// cannot drop or rewrite it (a null dereference is undefined behaviour it may turn into something
// else) and no signal handler can make it go away (a raise(SIGSEGV) returns normally when a library
// such as LLVM, loaded by pocl, has a SIGSEGV handler installed; a faulting load re-faults after
// that handler and kills the process). Caught (status crashed, signal SIGSEGV) by
// core/Gemm.MatchesFp64Reference/f32_k0, once the runner isolates cases.
#include <sys/mman.h>

#include "fault_plugin.hpp"

namespace dshal_faults {
namespace {

dshal_status gemm_crashing_on_k0(dshal_stream stream, const dshal_gemm_desc* desc) {
  if (desc->k != 0) return dshal_template::table().gemm(stream, desc);
  return dshal_template::guarded("gemm", [&] {
    stream->enqueue([] {
      void* page = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (page == MAP_FAILED) return dshal_template::WorkResult{DSHAL_ERROR_INTERNAL, "fault-crash: mmap failed"};
      const float first_of_a = *static_cast<volatile const float*>(page);  // the fault: SIGSEGV
      (void)first_of_a;
      return dshal_template::WorkResult{};
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
