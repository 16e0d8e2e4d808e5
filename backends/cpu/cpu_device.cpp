// cpu devices: DSHAL_CPU_DEVICES views of the one host (for multi-device tests), their properties.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "cpu.hpp"
#include "host/dtype.hpp"

namespace dshal::cpu {

namespace {

constexpr uint32_t kMaxDevices = 64;

std::string cpuinfo_field(const char* key) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return {};
}

uint64_t host_memory_bytes() { return uint64_t(sysconf(_SC_PHYS_PAGES)) * uint64_t(sysconf(_SC_PAGESIZE)); }

}  // namespace

dshal_status device_count(uint32_t* count) {
  *count = 0;
  const char* env = std::getenv("DSHAL_CPU_DEVICES");
  if (!env || !*env) {
    *count = 1;
    return DSHAL_OK;
  }
  char* end = nullptr;
  const long n = std::strtol(env, &end, 10);
  if (*end != '\0' || n < 1 || n > long(kMaxDevices))
    return fail(DSHAL_ERROR_UNAVAILABLE,
                "DSHAL_CPU_DEVICES='" + std::string(env) + "' is not a device count in [1, " + std::to_string(kMaxDevices) + "]");
  *count = uint32_t(n);
  return DSHAL_OK;
}

dshal_status device_open(uint32_t index, dshal_device* out) {
  *out = nullptr;
  return guarded([&] {
    *out = reinterpret_cast<dshal_device>(new Device{index});
    return DSHAL_OK;
  });
}

dshal_status device_close(dshal_device device) {
  delete as_device(device);
  return DSHAL_OK;
}

dshal_status device_get_properties(dshal_device device, dshal_device_properties* p) {
  return guarded([&] {
    const uint32_t size = p->struct_size;
    *p = dshal_device_properties{};
    p->struct_size = size;
    std::string model = cpuinfo_field("model name");
    backend::copy_str(p->name, sizeof(p->name), "Host CPU" + (model.empty() ? std::string() : " (" + model + ")"));
    const std::string vendor = cpuinfo_field("vendor_id");
    backend::copy_str(p->vendor, sizeof(p->vendor), vendor.empty() ? "unknown" : vendor);
    backend::copy_str(p->driver_version, sizeof(p->driver_version), "dshal-cpu " DSHAL_VERSION);
    p->memory_bytes = host_memory_bytes();
    p->max_alloc_bytes = p->memory_bytes;
    p->max_buffer_range = p->memory_bytes;
    p->alignment = 64;
    p->compute_units = std::thread::hardware_concurrency();
    p->gemm_dtypes = DSHAL_DTYPE_BIT(DSHAL_DTYPE_F32) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_F16) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_BF16);
    p->storage_dtypes = p->gemm_dtypes | DSHAL_DTYPE_BIT(DSHAL_DTYPE_FP8_E4M3) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_INT4) |
                        DSHAL_DTYPE_BIT(DSHAL_DTYPE_I32) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_U8);
    p->flags = DSHAL_DEVICE_HOST_SHARED_MEMORY;
    return DSHAL_OK;
  });
}

}  // namespace dshal::cpu
