// adapters/template/template_all_to_all.cpp: communicators and all_to_all between template devices
// of this process. A port maps this onto its collective library (or peer copies); the contract to
// keep is that each rank's part runs in order on that rank's stream, like any other async work.
#include <cstring>

#include "template.hpp"

namespace dshal_template {
namespace {

// One all_to_all call, shared by the work queued on every rank's stream. The counts and
// displacements are copied: they are host memory the caller may reuse as soon as the call returns.
struct Exchange {
  struct Rank {
    dshal_buffer_ref send, recv;
    std::vector<uint64_t> send_counts, send_displs, recv_displs;
  };
  uint32_t elem_bytes = 0;
  std::vector<Rank> ranks;

  std::mutex mutex;
  std::condition_variable changed;
  uint32_t arrived = 0;  // ranks whose stream reached the exchange: their earlier work is done
  uint32_t finished = 0;  // ranks that have pulled their data: send buffers may change again

  // Blocks the calling stream's worker until every rank has incremented counter.
  void arrive_and_wait(uint32_t& counter) {
    std::unique_lock lock(mutex);
    ++counter;
    changed.notify_all();
    changed.wait(lock, [&] { return counter == ranks.size(); });
  }

  // Rank p pulls its block from every sender r.
  void receive(size_t p) {
    const Rank& to = ranks[p];
    for (size_t r = 0; r < ranks.size(); ++r) {
      const Rank& from = ranks[r];
      if (from.send_counts[p] == 0) continue;  // an empty buffer may have no storage (hal serves size 0 itself)
      std::memcpy(to.recv.buffer->data + to.recv.offset + to.recv_displs[r] * elem_bytes,
                  from.send.buffer->data + from.send.offset + from.send_displs[p] * elem_bytes,
                  from.send_counts[p] * elem_bytes);
    }
  }
};

}  // namespace

// Blocking. A real adapter creates its vendor communicator (ranks in the given order) here.
dshal_status comm_create(const dshal_device* devices, uint32_t count, dshal_comm* out) {
  return guarded("comm_create", [&] {
    *out = nullptr;
    *out = new dshal_comm_s{std::vector<dshal_device>(devices, devices + count)};
    return DSHAL_OK;
  });
}

dshal_status comm_destroy(dshal_comm comm) {
  return guarded("comm_destroy", [&] {
    delete comm;
    return DSHAL_OK;
  });
}

// Async on each rank's stream (all distinct). Each rank's part starts only when every rank's
// stream has reached it (so every send buffer holds its data and every recv buffer is free), and
// no rank moves on until all have pulled (so nobody overwrites a send buffer still being read).
// hal has checked that counts match between sender and receiver and that every block fits.
dshal_status all_to_all(dshal_comm comm, const dshal_all_to_all_desc* desc) {
  return guarded("all_to_all", [&] {
    // Count and displacement arrays have one entry per rank of the communicator. All of a template
    // communicator's ranks live in this process, so rank_count equals that size here; a multi-process
    // port would index the arrays by communicator rank and reach remote peers through its transport.
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
    for (size_t r = 0; r < n; ++r)
      desc->ranks[r].stream->enqueue([exchange, r] {
        exchange->arrive_and_wait(exchange->arrived);
        exchange->receive(r);
        exchange->arrive_and_wait(exchange->finished);
        return WorkResult{};
      });
    return DSHAL_OK;
  });
}

}  // namespace dshal_template
