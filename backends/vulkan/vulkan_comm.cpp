// vulkan all_to_all, for ranks that share one VkDevice: each receiver's stream waits for its peers'
// streams to reach the call (their send buffers are ready), copies its blocks in with
// vkCmdCopyBuffer, then every stream waits for every receiver, so no send buffer is reused before
// each peer has read it. Ranks on different VkDevices are not supported yet.
#include <vector>

#include "vulkan.hpp"

namespace dshal::vulkan {
namespace {

struct Comm {
  std::vector<Device*> devices;
};

// Submits s's work so far; the point (timeline, value) covers it.
dshal_status mark(Stream* s, std::pair<std::shared_ptr<Timeline>, uint64_t>* out) {
  std::lock_guard lock(s->m);
  if (dshal_status st = flush(s); st != DSHAL_OK) return st;
  *out = {s->timeline, s->submitted};
  return DSHAL_OK;
}

void wait_for(Stream* s, const std::pair<std::shared_ptr<Timeline>, uint64_t>& point) {
  if (point.second == 0) return;
  std::lock_guard lock(s->m);
  s->waits.push_back(point);
}

}  // namespace

dshal_status comm_create(const dshal_device* devices, uint32_t count, dshal_comm* out) {
  *out = nullptr;
  return guarded([&] {
    auto c = std::make_unique<Comm>();
    for (uint32_t i = 0; i < count; ++i) {
      c->devices.push_back(as_device(devices[i]));
      if (c->devices.back()->dev != c->devices.front()->dev)
        return fail(DSHAL_ERROR_UNSUPPORTED, "vulkan all_to_all across different VkDevices is not supported yet");
    }
    *out = reinterpret_cast<dshal_comm>(c.release());
    return DSHAL_OK;
  });
}

dshal_status comm_destroy(dshal_comm comm) {
  delete reinterpret_cast<Comm*>(comm);
  return DSHAL_OK;
}

dshal_status all_to_all(dshal_comm, const dshal_all_to_all_desc* d) {
  return guarded([&] {
    const uint32_t n = d->rank_count;
    const uint64_t eb = d->elem_bytes;
    std::vector<std::pair<std::shared_ptr<Timeline>, uint64_t>> ready(n), done(n);
    for (uint32_t r = 0; r < n; ++r)
      if (dshal_status st = mark(as_stream(d->ranks[r].stream), &ready[r]); st != DSHAL_OK) return st;
    for (uint32_t r = 0; r < n; ++r) {
      const dshal_all_to_all_rank& me = d->ranks[r];
      Stream* to = as_stream(me.stream);
      for (uint32_t p = 0; p < n; ++p)
        if (p != r) wait_for(to, ready[p]);
      std::lock_guard lock(to->m);
      for (uint32_t p = 0; p < n; ++p) {
        const dshal_all_to_all_rank& peer = d->ranks[p];
        const uint64_t bytes = peer.send_counts[r] * eb;
        if (bytes == 0) continue;  // a zero-byte operand may be a NULL buffer
        VkCommandBuffer cmd = VK_NULL_HANDLE;
        if (dshal_status st = record(to, &cmd); st != DSHAL_OK) return st;
        const VkBufferCopy region{peer.send.offset + peer.send_displs[r] * eb, me.recv.offset + me.recv_displs[p] * eb, bytes};
        vkCmdCopyBuffer(cmd, as_buffer(peer.send.buffer)->alloc.buffer, as_buffer(me.recv.buffer)->alloc.buffer, 1, &region);
      }
    }
    for (uint32_t r = 0; r < n; ++r)
      if (dshal_status st = mark(as_stream(d->ranks[r].stream), &done[r]); st != DSHAL_OK) return st;
    for (uint32_t q = 0; q < n; ++q)
      for (uint32_t r = 0; r < n; ++r)
        if (r != q) wait_for(as_stream(d->ranks[q].stream), done[r]);
    return DSHAL_OK;
  });
}

}  // namespace dshal::vulkan
