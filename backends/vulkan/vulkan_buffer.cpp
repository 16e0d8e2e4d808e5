// vulkan buffers: a VkBuffer with its own VkDeviceMemory of the device's buffer memory type.
#include "vulkan.hpp"

namespace dshal::vulkan {

dshal_status buffer_alloc(dshal_device device, uint64_t size, dshal_buffer* out) {
  *out = nullptr;
  return guarded([&] {
    Device* d = as_device(device);
    auto b = std::make_unique<Buffer>();
    b->device = d;
    b->size = size;
    if (dshal_status st = allocate(d, size, false, &b->alloc); st != DSHAL_OK) return st;
    *out = reinterpret_cast<dshal_buffer>(b.release());
    return DSHAL_OK;
  });
}

dshal_status buffer_free(dshal_buffer buffer) {
  Buffer* b = as_buffer(buffer);
  release(b->device, &b->alloc);
  delete b;
  return DSHAL_OK;
}

}  // namespace dshal::vulkan
