// adapters/faults/event_wait.cpp: fault-event-wait, a stream_wait_event that does nothing: the port
// returns success without enqueueing the device-side wait, so work after it runs as soon as its own
// stream gets there. Caught by core/Streams.EventOrdersAcrossStreams: the copy on the waiting stream
// reads C while the other stream's long GEMMs are still writing it.
#include "fault_plugin.hpp"

namespace dshal_faults {
namespace {

dshal_status wait_doing_nothing(dshal_stream, dshal_event) { return DSHAL_OK; }

dshal_adapter_table make_table() {
  dshal_adapter_table t =
      derived_table("fault-event-wait", "fault plugin: the template with a stream_wait_event that does not wait");
  t.stream_wait_event = wait_doing_nothing;
  return t;
}

}  // namespace
}  // namespace dshal_faults

DSHAL_FAULT_PLUGIN_ENTRY(dshal_faults::make_table)
