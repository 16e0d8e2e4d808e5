// vulkan status words: host-visible (and host-coherent) words that shaders set through
// shaders/status.glsl and the host reads once the work that wrote them has completed.
#include <cstring>

#include "vulkan.hpp"

namespace dshal::vulkan {

dshal_status create_status(Device* d, Buffer* out) {
  out->device = d;
  out->size = 4 * backend::kStatusWords;
  if (dshal_status st = allocate(d, out->size, true, &out->alloc); st != DSHAL_OK) return st;
  std::memset(out->alloc.mapped, 0, out->size);
  return DSHAL_OK;
}

dshal_status snapshot_status(Stream* s, Event* e) {
  if (!e->snapshot || e->snapshot->device != s->device) {
    auto snapshot = std::shared_ptr<Buffer>(new Buffer, [](Buffer* b) {
      if (b->device) release(b->device, &b->alloc);
      delete b;
    });
    if (dshal_status st = create_status(s->device, snapshot.get()); st != DSHAL_OK) return st;
    e->snapshot = std::move(snapshot);
  }
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  if (dshal_status st = record(s, &cmd); st != DSHAL_OK) return st;
  const VkBufferCopy region{0, 0, s->status.size};
  vkCmdCopyBuffer(cmd, s->status.alloc.buffer, e->snapshot->alloc.buffer, 1, &region);
  s->open.written.push_back(e->snapshot);  // a later record may replace it before this completes
  return DSHAL_OK;
}

dshal_status report_status(Buffer* words, bool clear) {
  int32_t w[backend::kStatusWords];
  std::memcpy(w, words->alloc.mapped, sizeof(w));
  std::string message;
  const dshal_status st = backend::status_from_words(w, &message);
  if (st == DSHAL_OK) return DSHAL_OK;
  if (clear) std::memset(words->alloc.mapped, 0, sizeof(w));
  return fail(st, std::move(message));
}

}  // namespace dshal::vulkan
