// adapters/npu-sim/npu_adapter.cpp: the plugin's entry point (dshal_adapter_negotiate), the adapter
// table it hands to hal, and the per-thread last_error behind every slot.
#include "npu_sim.hpp"

namespace npu_sim {
namespace {

thread_local std::string t_last_error;

// Nothing left to do: hal has released every handle, so every card's memory and the DMA engine are
// gone already. (npu-sim keeps no other global state: its errors reach hal through last_error.)
void release() {}

}  // namespace

dshal_status fail(dshal_status status, std::string message) {
  t_last_error = std::move(message);
  return status;
}

void clear_error() { t_last_error.clear(); }

const char* last_error() { return t_last_error.c_str(); }

namespace {

// The mandatory slots, plus what the simulated card runs natively: gemm (f16 / bf16 inputs only,
// declined per descriptor otherwise), grouped_gemm on f16 / bf16 weights, prepack_weight into the
// NZ layout, the cost model's stream_device_time, and communicators across processes (one card per
// process, over shared memory). Every other optional op is NULL: hal runs its
// host fallback, reading and writing card memory through copy_d2h / copy_h2d.
dshal_adapter_table make_table() {
  dshal_adapter_table t{};
  t.struct_size = sizeof(dshal_adapter_table);
  t.abi_version = DSHAL_ABI_VERSION;
  t.name = "npu-sim";
  t.description = "simulated Ascend-style NPU: host-inaccessible card memory, f16/bf16 cube, NZ weights, cost model";
  t.release = release;
  t.last_error = last_error;
  t.device_count = device_count;
  t.device_open = device_open;
  t.device_close = device_close;
  t.device_get_properties = device_get_properties;
  t.buffer_alloc = buffer_alloc;
  t.buffer_free = buffer_free;
  t.copy_h2d = copy_h2d;
  t.copy_d2h = copy_d2h;
  t.copy_d2d = copy_d2d;
  t.fill = fill;
  t.stream_create = stream_create;
  t.stream_destroy = stream_destroy;
  t.stream_synchronize = stream_synchronize;
  t.event_create = event_create;
  t.event_destroy = event_destroy;
  t.event_record = event_record;
  t.stream_wait_event = stream_wait_event;
  t.event_query = event_query;
  t.event_synchronize = event_synchronize;
  t.gemm = gemm;
  t.comm_create = comm_create;
  t.comm_destroy = comm_destroy;
  t.all_to_all = all_to_all;
  t.query_op = query_op;
  t.grouped_gemm = grouped_gemm;
  t.prepack_weight = prepack_weight;
  t.stream_device_time = stream_device_time;
  t.comm_id_create = comm_id_create;
  t.comm_create_rank = comm_create_rank;
  return t;
}

const dshal_adapter_table g_table = make_table();

}  // namespace
}  // namespace npu_sim

// The library's one exported symbol. This adapter speaks ABI version 1 only.
extern "C" DSHAL_EXPORT dshal_status dshal_adapter_negotiate(uint32_t min_abi, uint32_t max_abi,
                                                             const dshal_host_services* host,
                                                             const dshal_adapter_table** out_table) {
  using namespace npu_sim;
  return guarded("negotiate", [&] {
    if (out_table) *out_table = nullptr;
    if (!out_table) return fail(DSHAL_ERROR_INVALID_ARGUMENT, "negotiate: out_table is NULL");
    if (min_abi > DSHAL_ABI_VERSION || max_abi < DSHAL_ABI_VERSION)
      return fail(DSHAL_ERROR_ABI_MISMATCH, "negotiate: hal offers ABI [" + std::to_string(min_abi) + ", " +
                                                std::to_string(max_abi) + "], npu-sim speaks " +
                                                std::to_string(DSHAL_ABI_VERSION));
    (void)host;  // npu-sim needs none of hal's services
    *out_table = &g_table;
    return DSHAL_OK;
  });
}
