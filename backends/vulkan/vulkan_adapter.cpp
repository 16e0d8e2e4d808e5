// The vulkan adapter's table, its negotiate entry point, the mapping of VkResult
// codes and the bookkeeping of validation layer messages.
#include <atomic>

#include "vulkan_ops.hpp"

namespace dshal::vulkan {

namespace {
const dshal_host_services* g_host = nullptr;

std::mutex g_validation_mutex;
uint64_t g_validation_count = 0;
std::string g_validation_unreported;  // the first message no synchronize has reported yet
}  // namespace

void log(int level, const std::string& message) {
  if (g_host && g_host->log) g_host->log(level, "vulkan", message.c_str());
}

namespace {

const char* vk_result_name(VkResult r) {
  switch (r) {
#define DSHAL_VK_CASE(e) \
  case e:                \
    return #e;
    DSHAL_VK_CASE(VK_NOT_READY)
    DSHAL_VK_CASE(VK_TIMEOUT)
    DSHAL_VK_CASE(VK_INCOMPLETE)
    DSHAL_VK_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
    DSHAL_VK_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    DSHAL_VK_CASE(VK_ERROR_INITIALIZATION_FAILED)
    DSHAL_VK_CASE(VK_ERROR_DEVICE_LOST)
    DSHAL_VK_CASE(VK_ERROR_MEMORY_MAP_FAILED)
    DSHAL_VK_CASE(VK_ERROR_LAYER_NOT_PRESENT)
    DSHAL_VK_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
    DSHAL_VK_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
    DSHAL_VK_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
    DSHAL_VK_CASE(VK_ERROR_TOO_MANY_OBJECTS)
    DSHAL_VK_CASE(VK_ERROR_FRAGMENTED_POOL)
    DSHAL_VK_CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
    DSHAL_VK_CASE(VK_ERROR_UNKNOWN)
#undef DSHAL_VK_CASE
    default:
      return "unknown VkResult";
  }
}

}  // namespace

dshal_status vk_fail(VkResult r, const std::string& what) {
  dshal_status code = DSHAL_ERROR_DEVICE;
  if (r == VK_ERROR_OUT_OF_HOST_MEMORY || r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_TOO_MANY_OBJECTS)
    code = DSHAL_ERROR_OUT_OF_MEMORY;
  else if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED)
    code = DSHAL_ERROR_UNAVAILABLE;
  return fail(code, what + " failed: " + vk_result_name(r) + " (" + std::to_string(int(r)) + ")");
}

void note_validation_message(const std::string& message) {
  log(3, "validation: " + message);
  std::lock_guard lock(g_validation_mutex);
  ++g_validation_count;
  if (g_validation_unreported.empty()) g_validation_unreported = message;
}

dshal_status take_validation_error() {
  std::lock_guard lock(g_validation_mutex);
  if (g_validation_unreported.empty()) return DSHAL_OK;
  std::string msg = "Vulkan validation layer (" + std::to_string(g_validation_count) +
                    " message(s) so far): " + g_validation_unreported;
  g_validation_unreported.clear();
  return fail(DSHAL_ERROR_DEVICE, std::move(msg));
}

namespace {

dshal_adapter_table make_table() {
  dshal_adapter_table t{};
  t.struct_size = sizeof(t);
  t.abi_version = DSHAL_ABI_VERSION;
  t.name = "vulkan";
  t.description = "every Vulkan device with a compute queue (libvulkan); compute shaders in GLSL -> SPIR-V";
  t.release = [] {
    std::lock_guard lock(g_validation_mutex);
    if (g_validation_count) log(3, std::to_string(g_validation_count) + " Vulkan validation message(s) in this process");
  };
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
  fill_norm_act_slots(&t);
  fill_elementwise_slots(&t);
  fill_moe_slots(&t);
  fill_weight_gemm_slots(&t);
  fill_attention_slots(&t);
  return t;
}

}  // namespace
}  // namespace dshal::vulkan

extern "C" dshal_status dshal_vulkan_negotiate(uint32_t min_abi, uint32_t max_abi, const dshal_host_services* host,
                                              const dshal_adapter_table** out_table) {
  *out_table = nullptr;
  if (min_abi > DSHAL_ABI_VERSION || max_abi < DSHAL_ABI_VERSION) return DSHAL_ERROR_ABI_MISMATCH;
  dshal::vulkan::g_host = host;
  static const dshal_adapter_table table = dshal::vulkan::make_table();
  *out_table = &table;
  return DSHAL_OK;
}
