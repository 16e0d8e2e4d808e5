// cpu all_to_all: every rank's stream reaches a barrier, pulls its rows from the peers' send
// buffers, and meets a second barrier so no send buffer is reused before every peer has read it.
#include <barrier>
#include <cstring>
#include <vector>

#include "cpu.hpp"
#include "host/kernels.hpp"

namespace dshal::cpu {
namespace {

struct Comm {
  std::vector<Device*> devices;
};

struct RankPlan {
  dshal_buffer_ref send, recv;
  std::vector<uint64_t> send_counts, send_displs, recv_counts, recv_displs;
};

struct Exchange {
  explicit Exchange(uint32_t n) : ranks(n), arrive(n), leave(n) {}
  uint32_t elem_bytes = 0;
  std::vector<RankPlan> ranks;
  std::barrier<> arrive, leave;
};

}  // namespace

dshal_status comm_create(const dshal_device* devices, uint32_t count, dshal_comm* out) {
  *out = nullptr;
  return guarded([&] {
    auto* c = new Comm;
    for (uint32_t i = 0; i < count; ++i) c->devices.push_back(as_device(devices[i]));
    *out = reinterpret_cast<dshal_comm>(c);
    return DSHAL_OK;
  });
}

dshal_status comm_destroy(dshal_comm comm) {
  delete reinterpret_cast<Comm*>(comm);
  return DSHAL_OK;
}

dshal_status all_to_all(dshal_comm comm, const dshal_all_to_all_desc* d) {
  return guarded([&] {
    const uint32_t n = d->rank_count;
    auto ex = std::make_shared<Exchange>(n);
    ex->elem_bytes = d->elem_bytes;
    for (uint32_t r = 0; r < n; ++r) {
      const dshal_all_to_all_rank& k = d->ranks[r];
      RankPlan& p = ex->ranks[r];
      p.send = k.send;
      p.recv = k.recv;
      p.send_counts.assign(k.send_counts, k.send_counts + n);
      p.send_displs.assign(k.send_displs, k.send_displs + n);
      p.recv_counts.assign(k.recv_counts, k.recv_counts + n);
      p.recv_displs.assign(k.recv_displs, k.recv_displs + n);
    }
    for (uint32_t r = 0; r < n; ++r) {
      as_stream(d->ranks[r].stream)->enqueue([ex, r, n](std::string*) {
        ex->arrive.arrive_and_wait();
        const RankPlan& me = ex->ranks[r];
        for (uint32_t p = 0; p < n; ++p) {
          const RankPlan& peer = ex->ranks[p];
          const uint64_t bytes = peer.send_counts[r] * ex->elem_bytes;
          if (bytes == 0) continue;
          std::memcpy(host::host_ptr(me.recv.buffer, me.recv.offset + me.recv_displs[p] * ex->elem_bytes),
                      host::host_ptr(peer.send.buffer, peer.send.offset + peer.send_displs[r] * ex->elem_bytes), bytes);
        }
        ex->leave.arrive_and_wait();
        return DSHAL_OK;
      });
    }
    return DSHAL_OK;
  });
}

}  // namespace dshal::cpu
