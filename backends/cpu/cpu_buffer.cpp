// cpu buffers: 64-byte aligned host allocations, or host memory wrapped in place.
#include <cstdlib>
#include <string>

#include "cpu.hpp"
#include "host/kernels.hpp"

namespace dshal::cpu {

dshal_status buffer_alloc(dshal_device device, uint64_t size, dshal_buffer* out) {
  *out = nullptr;
  return guarded([&] {
    const uint64_t rounded = (size + 63) / 64 * 64;
    if (rounded < size) return fail(DSHAL_ERROR_OUT_OF_MEMORY, "buffer_alloc: " + std::to_string(size) + " bytes is too large");
    void* p = std::aligned_alloc(64, rounded);
    if (!p) return fail(DSHAL_ERROR_OUT_OF_MEMORY, "buffer_alloc: the host could not provide " + std::to_string(size) + " bytes");
    *out = host::as_handle(new host::HostBuffer{p, size, true});
    return DSHAL_OK;
  });
}

dshal_status buffer_free(dshal_buffer buffer) {
  host::HostBuffer* b = host::as_host(buffer);
  if (b->owned) std::free(b->data);
  delete b;
  return DSHAL_OK;
}

dshal_status import_host_memory(dshal_device, void* ptr, uint64_t bytes, dshal_buffer* out) {
  *out = nullptr;
  return guarded([&] {
    *out = host::as_handle(new host::HostBuffer{ptr, bytes, false});
    return DSHAL_OK;
  });
}

}  // namespace dshal::cpu
