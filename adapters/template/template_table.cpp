// adapters/template/template_table.cpp: the adapter table the template hands to hal, the ABI
// negotiation behind its entry point (template_entry.cpp), and the per-thread last_error behind
// every slot. Built once into an object library, so other plugins (adapters/faults) reuse it.
#include "template.hpp"

namespace dshal_template {
namespace {

// last_error is per thread: concurrent callers on different threads each see their own failure.
thread_local std::string t_last_error;

// Valid from negotiate until release; a port uses it to send driver diagnostics to hal's log.
const dshal_host_services* g_host = nullptr;

void release() {
  // Every handle is already released when hal calls this. A real device shuts its driver down here.
  g_host = nullptr;
}

}  // namespace

dshal_status fail(dshal_status status, std::string message) {
  t_last_error = std::move(message);
  return status;
}

void clear_error() { t_last_error.clear(); }

void log(int level, const std::string& message) {
  if (g_host && g_host->log) g_host->log(level, "template", message.c_str());
}

const char* last_error() { return t_last_error.c_str(); }

namespace {

// Only the mandatory slots are filled: every optional op (NULL) runs in hal's host fallback, which
// reads and writes buffers through copy_d2h / copy_h2d. A port adds native ops one at a time.
dshal_adapter_table make_table() {
  dshal_adapter_table t{};
  t.struct_size = sizeof(dshal_adapter_table);
  t.abi_version = DSHAL_ABI_VERSION;
  t.name = "template";
  t.description = "copy-me starting point for a vendor adapter; mandatory slots only, on host memory";
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
  return t;
}

const dshal_adapter_table g_table = make_table();

}  // namespace

const dshal_adapter_table& table() { return g_table; }

// hal offers [min_abi, max_abi]; the template speaks only version 1, so it either picks 1 or refuses.
dshal_status negotiate(uint32_t min_abi, uint32_t max_abi, const dshal_host_services* host,
                       const dshal_adapter_table* offered, const dshal_adapter_table** out_table) {
  return guarded("negotiate", [&] {
    if (out_table) *out_table = nullptr;
    if (!out_table) return fail(DSHAL_ERROR_INVALID_ARGUMENT, "negotiate: out_table is NULL");
    if (min_abi > DSHAL_ABI_VERSION || max_abi < DSHAL_ABI_VERSION)
      return fail(DSHAL_ERROR_ABI_MISMATCH, "negotiate: hal offers ABI [" + std::to_string(min_abi) + ", " +
                                                std::to_string(max_abi) + "], template speaks " +
                                                std::to_string(DSHAL_ABI_VERSION));
    g_host = host;
    *out_table = offered;
    return DSHAL_OK;
  });
}

}  // namespace dshal_template
