// The built-in adapters hal negotiates at start-up, in "auto" priority order after accelerators.
#include "registry.hpp"

extern "C" dshal_status dshal_cpu_negotiate(uint32_t, uint32_t, const dshal_host_services*, const dshal_adapter_table**);
extern "C" dshal_status dshal_vulkan_negotiate(uint32_t, uint32_t, const dshal_host_services*, const dshal_adapter_table**);
extern "C" dshal_status dshal_opencl_negotiate(uint32_t, uint32_t, const dshal_host_services*, const dshal_adapter_table**);

namespace dshal::detail {

// backends/cuda_probe.cpp: the cuda adapter is loaded only where the runtime reports a device.
std::string cuda_probe();
dshal_status cuda_negotiate(uint32_t, uint32_t, const dshal_host_services*, const dshal_adapter_table**);

std::span<const BuiltinAdapter> builtin_adapters() {
  static const BuiltinAdapter list[] = {
      {"cuda", cuda_negotiate, cuda_probe},
      {"vulkan", dshal_vulkan_negotiate},
      {"opencl", dshal_opencl_negotiate},
      {"cpu", dshal_cpu_negotiate},
  };
  return list;
}

}  // namespace dshal::detail
