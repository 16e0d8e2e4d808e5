// adapters/npu-sim/npu_all_to_all.cpp: communicators and an HCCL-like all_to_all between the cards
// of this process. Each rank's part runs in order on that rank's stream; when every rank's stream has
// reached it, each rank pulls its blocks from every peer through the DMA engine (the simulated
// HCCS links), and no rank moves on until all have pulled. The cost model charges a rank's own
// block to HBM and the blocks from peers to the interconnect.
#include <cstring>

#include "npu_sim.hpp"

namespace npu_sim {
namespace {

struct Exchange {
  struct Rank {
    dshal_buffer_ref send, recv;
    std::vector<uint64_t> send_counts, send_displs, recv_displs;
  };
  uint32_t elem_bytes = 0;
  std::vector<Rank> ranks;

  std::mutex mutex;
  std::condition_variable changed;
  uint32_t arrived = 0;   // ranks whose stream reached the exchange: their earlier work is done
  uint32_t finished = 0;  // ranks that have pulled their data: send buffers may change again

  void arrive_and_wait(uint32_t& counter) {
    std::unique_lock lock(mutex);
    ++counter;
    changed.notify_all();
    changed.wait(lock, [&] { return counter == ranks.size(); });
  }

  // Rank p pulls its block from every sender r in one DMA job; returns the job's result and the
  // modelled time.
  dshal_stream_s::Outcome receive(size_t p, const Spec& spec) {
    const Rank& to = ranks[p];
    std::vector<Window> windows;
    struct Move {
      std::byte* dst;
      const std::byte* src;
      uint64_t bytes;
    };
    std::vector<Move> moves;
    uint64_t local = 0, remote = 0;
    for (size_t r = 0; r < ranks.size(); ++r) {
      const Rank& from = ranks[r];
      const uint64_t bytes = from.send_counts[p] * elem_bytes;
      if (bytes == 0) continue;  // an empty buffer may have no storage
      std::byte* src = from.send.buffer->data + from.send.offset + from.send_displs[p] * elem_bytes;
      std::byte* dst = to.recv.buffer->data + to.recv.offset + to.recv_displs[r] * elem_bytes;
      windows.push_back({src, bytes, false});
      windows.push_back({dst, bytes, true});
      moves.push_back({dst, src, bytes});
      (from.send.buffer->device->index == to.recv.buffer->device->index ? local : remote) += bytes;
    }
    WorkResult result = dma(windows, [&] {
      for (const Move& m : moves) std::memcpy(m.dst, m.src, m.bytes);
    });
    return {result, cost::all_to_all_ns(spec, local, remote)};
  }
};

}  // namespace

// Blocking. A real port creates its HCCL communicator (ranks in the given order) here.
dshal_status comm_create(const dshal_device* devices, uint32_t count, dshal_comm* out) {
  return guarded("comm_create", [&] {
    *out = nullptr;
    *out = new dshal_comm_s{std::vector<dshal_device>(devices, devices + count), nullptr};
    return DSHAL_OK;
  });
}

dshal_status comm_destroy(dshal_comm comm) {
  return guarded("comm_destroy", [&] {
    delete comm;
    return DSHAL_OK;
  });
}

// Async on each rank's stream (all distinct). hal has checked that counts match between sender and
// receiver and that every block fits; the host arrays are copied now (valid only during the call).
dshal_status all_to_all(dshal_comm comm, const dshal_all_to_all_desc* desc) {
  return guarded("all_to_all", [&] {
    if (comm->links) {
      enqueue_process_exchange(comm, *desc);
      return DSHAL_OK;
    }
    const size_t n = comm->devices.size();
    auto exchange = std::make_shared<Exchange>();
    exchange->elem_bytes = desc->elem_bytes;
    exchange->ranks.resize(n);
    for (size_t r = 0; r < n; ++r) {
      const dshal_all_to_all_rank& in = desc->ranks[r];
      Exchange::Rank& rank = exchange->ranks[r];
      rank.send = in.send;
      rank.recv = in.recv;
      rank.send_counts.assign(in.send_counts, in.send_counts + n);
      rank.send_displs.assign(in.send_displs, in.send_displs + n);
      rank.recv_displs.assign(in.recv_displs, in.recv_displs + n);
    }
    for (size_t r = 0; r < n; ++r) {
      dshal_stream stream = desc->ranks[r].stream;
      stream->enqueue([exchange, r, stream] {
        exchange->arrive_and_wait(exchange->arrived);
        dshal_stream_s::Outcome o = exchange->receive(r, *stream->device->spec);
        exchange->arrive_and_wait(exchange->finished);
        return o;
      });
    }
    return DSHAL_OK;
  });
}

}  // namespace npu_sim
