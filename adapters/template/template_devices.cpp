// adapters/template/template_devices.cpp: device discovery, properties, and buffers. The template's
// devices are host memory; a port enumerates its driver's devices and allocates on them here.
#include <cstdlib>
#include <fstream>

#include "template.hpp"

namespace dshal_template {
namespace {

constexpr uint32_t kMaxDevices = 64;

// DSHAL_TEMPLATE_DEVICES (default 1) says how many host devices to pretend there are, so
// multi-device paths (all_to_all, cross-device copies and events) can be exercised on one machine.
uint32_t configured_device_count() {
  const char* env = std::getenv("DSHAL_TEMPLATE_DEVICES");
  if (!env || !*env) return 1;
  char* end = nullptr;
  const unsigned long n = std::strtoul(env, &end, 10);
  if (*end != '\0' || n < 1 || n > kMaxDevices) {
    log(2, std::string("DSHAL_TEMPLATE_DEVICES='") + env + "' is not a count in [1, " + std::to_string(kMaxDevices) +
               "]; using 1");
    return 1;
  }
  return uint32_t(n);
}

// Host RAM from /proc/meminfo ("MemTotal: <kB> kB"); 0 when it cannot be read. A real device
// reports its own memory size from the driver.
uint64_t host_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  while (meminfo >> key >> kib) {
    if (key == "MemTotal:") return kib * 1024;
    meminfo.ignore(256, '\n');
  }
  return 0;
}

void copy_string(char* dst, size_t capacity, const std::string& src) {
  const size_t n = src.size() < capacity - 1 ? src.size() : capacity - 1;
  src.copy(dst, n);
  dst[n] = '\0';
}

}  // namespace

// Blocking. A real adapter asks its driver here and returns DSHAL_ERROR_UNAVAILABLE (with the
// reason in last_error) when there is no driver or no device: hal then lists the adapter as unusable
// instead of failing.
dshal_status device_count(uint32_t* count) {
  return guarded("device_count", [&] {
    *count = 0;
    *count = configured_device_count();
    return DSHAL_OK;
  });
}

// Blocking. A real adapter creates its context / queue family for the device here. index is below
// device_count (hal checks).
dshal_status device_open(uint32_t index, dshal_device* out) {
  return guarded("device_open", [&] {
    *out = nullptr;
    *out = new dshal_device_s{index};
    return DSHAL_OK;
  });
}

// hal has released every buffer, stream and event of the device before this; a real adapter waits
// for the device to go idle, then destroys its context.
dshal_status device_close(dshal_device device) {
  return guarded("device_close", [&] {
    delete device;
    return DSHAL_OK;
  });
}

// Fill every field honestly: hal validates against these (max_alloc_bytes, alignment, gemm_dtypes)
// and the conformance report prints them.
dshal_status device_get_properties(dshal_device device, dshal_device_properties* props) {
  return guarded("device_get_properties", [&] {
    copy_string(props->name, sizeof(props->name), "template host device " + std::to_string(device->index));
    copy_string(props->vendor, sizeof(props->vendor), "dshal project");
    copy_string(props->driver_version, sizeof(props->driver_version), "template 1");
    const uint64_t memory = host_memory_bytes();
    if (memory == 0) return fail(DSHAL_ERROR_DEVICE, "device_get_properties: cannot read MemTotal from /proc/meminfo");
    props->memory_bytes = memory;
    props->max_alloc_bytes = memory;  // one host allocation may take all of RAM (hal checks this bound)
    props->max_buffer_range = memory;
    props->alignment = kAlignment;
    props->compute_units = 1;  // each stream's worker is one thread
    props->gemm_dtypes =
        DSHAL_DTYPE_BIT(DSHAL_DTYPE_F32) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_F16) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_BF16);
    // Every type can be stored and read back: buffers are bytes, and the optional ops on them run in
    // hal's host fallback, which knows every type.
    props->storage_dtypes = props->gemm_dtypes | DSHAL_DTYPE_BIT(DSHAL_DTYPE_FP8_E4M3) |
                            DSHAL_DTYPE_BIT(DSHAL_DTYPE_INT4) | DSHAL_DTYPE_BIT(DSHAL_DTYPE_I32) |
                            DSHAL_DTYPE_BIT(DSHAL_DTYPE_U8);
    // Not DSHAL_DEVICE_HOST_SHARED_MEMORY: that flag promises import_host_memory, an optional slot
    // the template leaves out.
    props->flags = 0;
    return DSHAL_OK;
  });
}

// Blocking. size_bytes >= 1 and <= max_alloc_bytes (hal checks). Failure to allocate must be
// DSHAL_ERROR_OUT_OF_MEMORY, never a crash: a real adapter maps its driver's OOM code here.
dshal_status buffer_alloc(dshal_device device, uint64_t size_bytes, dshal_buffer* out) {
  return guarded("buffer_alloc", [&] {
    *out = nullptr;
    auto buffer = std::make_unique<dshal_buffer_s>(dshal_buffer_s{device, size_bytes, nullptr});
    buffer->data = static_cast<std::byte*>(::operator new(size_bytes, std::align_val_t(kAlignment), std::nothrow));
    if (!buffer->data)
      return fail(DSHAL_ERROR_OUT_OF_MEMORY, "buffer_alloc: " + std::to_string(size_bytes) + " bytes on template:" +
                                                 std::to_string(device->index) + " could not be allocated");
    *out = buffer.release();
    return DSHAL_OK;
  });
}

// hal has synchronized the device's streams: no queued work still touches the buffer.
dshal_status buffer_free(dshal_buffer buffer) {
  return guarded("buffer_free", [&] {
    ::operator delete(buffer->data, std::align_val_t(kAlignment));
    delete buffer;
    return DSHAL_OK;
  });
}

}  // namespace dshal_template
