// adapters/faults/stream_order.cpp: fault-stream-order, a stream that runs consecutive GEMMs out of
// order, as a port does that spreads kernels over two hardware queues without a dependency between
// them. Deterministic here: each odd GEMM on a stream is held back and enqueued right after the
// next one, so every pair runs swapped. Caught by core/Streams.OrderUnderLoad.
#include <map>
#include <mutex>

#include "fault_plugin.hpp"

namespace dshal_faults {
namespace {

// Per stream, the GEMM waiting for the next one to overtake it.
std::mutex g_mutex;
std::map<dshal_stream, dshal_gemm_desc> g_held;

// Enqueues the held GEMM, if any: at synchronize, destroy and event_record, so held work is never
// lost, buffers are never freed under it (hal synchronizes before freeing) and events still cover it.
dshal_status release_held(dshal_stream stream) {
  std::unique_lock lock(g_mutex);
  const auto it = g_held.find(stream);
  if (it == g_held.end()) return DSHAL_OK;
  const dshal_gemm_desc held = it->second;
  g_held.erase(it);
  lock.unlock();
  return dshal_template::table().gemm(stream, &held);
}

dshal_status gemm_pairs_swapped(dshal_stream stream, const dshal_gemm_desc* desc) {
  std::unique_lock lock(g_mutex);
  const auto it = g_held.find(stream);
  if (it == g_held.end()) {
    g_held.emplace(stream, *desc);  // the template's gemm copies the descriptor too: hal's is call-scoped
    return DSHAL_OK;
  }
  const dshal_gemm_desc held = it->second;
  g_held.erase(it);
  lock.unlock();
  const dshal_status st = dshal_template::table().gemm(stream, desc);  // the later GEMM first ...
  const dshal_status held_st = dshal_template::table().gemm(stream, &held);  // ... then the earlier one
  return st != DSHAL_OK ? st : held_st;
}

dshal_status synchronize_releasing(dshal_stream stream) {
  if (const dshal_status st = release_held(stream); st != DSHAL_OK) return st;
  return dshal_template::table().stream_synchronize(stream);
}

dshal_status destroy_releasing(dshal_stream stream) {
  release_held(stream);
  return dshal_template::table().stream_destroy(stream);
}

dshal_status record_releasing(dshal_event event, dshal_stream stream) {
  if (const dshal_status st = release_held(stream); st != DSHAL_OK) return st;
  return dshal_template::table().event_record(event, stream);
}

dshal_adapter_table make_table() {
  dshal_adapter_table t =
      derived_table("fault-stream-order", "fault plugin: the template with streams that run consecutive GEMMs swapped");
  t.gemm = gemm_pairs_swapped;
  t.stream_synchronize = synchronize_releasing;
  t.stream_destroy = destroy_releasing;
  t.event_record = record_releasing;
  return t;
}

}  // namespace
}  // namespace dshal_faults

DSHAL_FAULT_PLUGIN_ENTRY(dshal_faults::make_table)
