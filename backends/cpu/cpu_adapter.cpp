// The cpu adapter's table and its negotiate entry point.
#include "cpu.hpp"

namespace dshal::cpu {

namespace {

dshal_adapter_table make_table() {
  dshal_adapter_table t{};
  t.struct_size = sizeof(t);
  t.abi_version = DSHAL_ABI_VERSION;
  t.name = "cpu";
  t.description = "host CPU: oneTBB threads, AVX-512 GEMM kernels where the CPU has them";
  t.release = [] {};
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
  t.comm_create = comm_create;
  t.comm_destroy = comm_destroy;
  t.all_to_all = all_to_all;
  t.import_host_memory = import_host_memory;
  fill_compute_slots(&t);
  return t;
}

}  // namespace
}  // namespace dshal::cpu

extern "C" dshal_status dshal_cpu_negotiate(uint32_t min_abi, uint32_t max_abi, const dshal_host_services* host,
                                           const dshal_adapter_table** out_table) {
  *out_table = nullptr;
  if (min_abi > DSHAL_ABI_VERSION || max_abi < DSHAL_ABI_VERSION) return DSHAL_ERROR_ABI_MISMATCH;
  static const dshal_adapter_table table = dshal::cpu::make_table();
  *out_table = &table;
  return DSHAL_OK;
}
