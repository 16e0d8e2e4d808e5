// vulkan copies and fill, recorded on the stream. h2d reads the host memory at enqueue time (the
// caller keeps it unchanged until the copy completes); d2h writes it when the submission is retired
// by a synchronize or an event wait that covers it. Where device memory is mapped (host-coherent),
// d2h reads it directly then, and an h2d on an idle stream writes it directly; otherwise host data
// goes through a staging allocation per copy, freed when the submission completes.
#include <cstring>

#include "vulkan.hpp"

namespace dshal::vulkan {
namespace {

void copy_region(VkCommandBuffer cmd, VkBuffer src, uint64_t src_off, VkBuffer dst, uint64_t dst_off, uint64_t bytes) {
  const VkBufferCopy region{src_off, dst_off, bytes};
  vkCmdCopyBuffer(cmd, src, dst, 1, &region);
}

// With s->m held: a d2h copy of this stream has not reached host memory yet. An h2d that reads
// host memory now could read what that copy is about to write: wait for it first (rare).
dshal_status settle_host_writes(Stream* s) {
  bool pending = !s->open.host_steps.empty();
  for (const Batch& b : s->in_flight) pending = pending || !b.host_steps.empty();
  if (!pending) return DSHAL_OK;
  if (dshal_status st = flush(s); st != DSHAL_OK) return st;
  if (dshal_status st = wait_value(*s->timeline, s->submitted); st != DSHAL_OK) return st;
  retire(s);
  return DSHAL_OK;
}

// With s->m held: bytes of host data staged and copied to dst at off.
dshal_status stage_in(Stream* s, const void* src, Buffer* dst, uint64_t off, uint64_t bytes) {
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  if (dshal_status st = record(s, &cmd); st != DSHAL_OK) return st;
  Allocation staging;
  if (dshal_status st = allocate(s->device, bytes, true, &staging); st != DSHAL_OK) return st;
  std::memcpy(staging.mapped, src, bytes);
  s->open.staging.push_back(staging);
  copy_region(cmd, staging.buffer, 0, dst->alloc.buffer, off, bytes);
  return DSHAL_OK;
}

// With s->m held: nothing of s is queued, in flight or waited for, so a write now is in stream order.
bool idle(Stream* s) {
  retire(s);
  return !s->open.cmd && s->in_flight.empty() && s->waits.empty();
}

}  // namespace

dshal_status copy_h2d(dshal_stream stream, const void* src, dshal_buffer dst, uint64_t off, uint64_t bytes) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    Buffer* b = as_buffer(dst);
    std::lock_guard lock(s->m);
    if (b->alloc.mapped && idle(s)) {
      std::memcpy(static_cast<char*>(b->alloc.mapped) + off, src, bytes);
      return DSHAL_OK;
    }
    if (dshal_status st = settle_host_writes(s); st != DSHAL_OK) return st;
    return stage_in(s, src, b, off, bytes);
  });
}

dshal_status copy_d2h(dshal_stream stream, dshal_buffer src, uint64_t off, void* dst, uint64_t bytes) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    Buffer* b = as_buffer(src);
    std::lock_guard lock(s->m);
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    // Recorded even when nothing is copied on the device: the batch's closing host barrier makes
    // the work before it visible to the host step.
    if (dshal_status st = record(s, &cmd); st != DSHAL_OK) return st;
    if (b->alloc.mapped) {
      const char* from = static_cast<const char*>(b->alloc.mapped) + off;
      s->open.host_steps.push_back([dst, from, bytes] { std::memcpy(dst, from, bytes); });
      return DSHAL_OK;
    }
    Allocation staging;
    if (dshal_status st = allocate(s->device, bytes, true, &staging); st != DSHAL_OK) return st;
    s->open.staging.push_back(staging);
    copy_region(cmd, b->alloc.buffer, off, staging.buffer, 0, bytes);
    const void* from = staging.mapped;
    s->open.host_steps.push_back([dst, from, bytes] { std::memcpy(dst, from, bytes); });
    return DSHAL_OK;
  });
}

dshal_status copy_d2d(dshal_stream stream, dshal_buffer src, uint64_t src_off, dshal_buffer dst, uint64_t dst_off,
                      uint64_t bytes) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    Buffer* from = as_buffer(src);
    Buffer* to = as_buffer(dst);
    if (from->device->dev != s->device->dev || to->device->dev != s->device->dev)
      return fail(DSHAL_ERROR_UNSUPPORTED, "copy_d2d between different Vulkan devices is not supported yet");
    std::lock_guard lock(s->m);
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    if (dshal_status st = record(s, &cmd); st != DSHAL_OK) return st;
    copy_region(cmd, from->alloc.buffer, src_off, to->alloc.buffer, dst_off, bytes);
    return DSHAL_OK;
  });
}

// vkCmdFillBuffer writes whole aligned words: the aligned middle goes there (the pattern rotated to
// its phase at that address), the unaligned head and tail (under 4 bytes each) through staging.
dshal_status fill(dshal_stream stream, dshal_buffer dst, uint64_t off, uint64_t bytes, const void* pattern,
                  uint32_t pattern_bytes) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    Buffer* b = as_buffer(dst);
    const auto* pat = static_cast<const unsigned char*>(pattern);
    auto byte_at = [&](uint64_t addr) { return pat[(addr - off) % pattern_bytes]; };
    const uint64_t end = off + bytes, mid_begin = std::min(end, (off + 3) / 4 * 4), mid_end = std::max(mid_begin, end / 4 * 4);
    std::lock_guard lock(s->m);
    if (mid_end > mid_begin) {
      uint32_t word = 0;
      for (uint32_t i = 0; i < 4; ++i) word |= uint32_t(byte_at(mid_begin + i)) << (8 * i);
      VkCommandBuffer cmd = VK_NULL_HANDLE;
      if (dshal_status st = record(s, &cmd); st != DSHAL_OK) return st;
      vkCmdFillBuffer(cmd, b->alloc.buffer, mid_begin, mid_end - mid_begin, word);
    }
    for (auto [from, to] : {std::pair{off, mid_begin}, std::pair{mid_end, end}}) {
      if (to <= from) continue;
      unsigned char edge[4];
      for (uint64_t a = from; a < to; ++a) edge[a - from] = byte_at(a);
      if (dshal_status st = stage_in(s, edge, b, from, to - from); st != DSHAL_OK) return st;
    }
    return DSHAL_OK;
  });
}

}  // namespace dshal::vulkan
