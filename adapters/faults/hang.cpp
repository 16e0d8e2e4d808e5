// adapters/faults/hang.cpp: fault-hang, a GEMM that never completes for a 1 x 1 x 1 problem: the
// stream's worker waits for a completion that nothing signals (a port whose small-shape path waits
// on a fence it never submitted). Caught (status timeout) by
// core/Gemm.MatchesFp64Reference/f32_1x1x1, once the runner isolates cases and has --timeout.
#include <condition_variable>
#include <mutex>

#include "fault_plugin.hpp"

namespace dshal_faults {
namespace {

dshal_status gemm_hanging_on_1x1x1(dshal_stream stream, const dshal_gemm_desc* desc) {
  if (desc->m != 1 || desc->n != 1 || desc->k != 1) return dshal_template::table().gemm(stream, desc);
  return dshal_template::guarded("gemm", [&] {
    stream->enqueue([] {
      // The fault: a wait for a signal that never comes. Only killing the process ends it.
      static std::mutex mutex;
      static std::condition_variable never_signalled;
      std::unique_lock lock(mutex);
      never_signalled.wait(lock, [] { return false; });
      return dshal_template::WorkResult{};
    });
    return DSHAL_OK;
  });
}

dshal_adapter_table make_table() {
  dshal_adapter_table t =
      derived_table("fault-hang", "fault plugin: the template with a GEMM that never completes for 1 x 1 x 1");
  t.gemm = gemm_hanging_on_1x1x1;
  return t;
}

}  // namespace
}  // namespace dshal_faults

DSHAL_FAULT_PLUGIN_ENTRY(dshal_faults::make_table)
