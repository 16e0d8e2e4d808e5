// adapters/npu-sim/npu_process_links.cpp: communicators whose ranks live in different processes,
// one card each (comm_id_create / comm_create_rank), the way HCCL joins servers from a root info.
// The "links" are a shared-memory segment named by the id: one mailbox per ordered pair of ranks,
// holding one chunk at a time. A sender's DMA job copies a chunk of its card memory into the
// mailbox and posts it; the receiver's DMA job copies it into its card memory and takes it. Every
// exchange posts at least one chunk to every peer (an empty one for a zero count), each carrying the
// message's size, so the two sides stay in step and a count mismatch is reported, not guessed.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>

#include "npu_sim.hpp"

namespace npu_sim {
namespace {

using Clock = std::chrono::steady_clock;

// How long a rank waits for peers to join or to move data before it reports them gone. Long
// enough for oversubscribed CI machines; a peer that exited is noticed at once (its pid is gone).
constexpr std::chrono::seconds kPeerTimeout{60};

constexpr char kIdMagic[16] = "npu-sim links 1";
constexpr uint64_t kSegmentMagic = 0x6e70752d6c6e6b31ull;  // "npu-lnk1"

// What comm_id_create writes into dshal_comm_id.bytes.
struct IdBytes {
  char magic[16];
  char name[64];  // the shared-memory segment, "/dshal-npu-sim-<pid>-<random>"
};
static_assert(sizeof(IdBytes) <= DSHAL_COMM_ID_BYTES);

struct Mailbox {
  std::atomic<uint64_t> posted;  // chunks the sender has written, ever
  std::atomic<uint64_t> taken;   // chunks the receiver has read, ever: the sender may write when equal
  uint64_t message_bytes;        // the whole message the chunk belongs to
  uint64_t chunk_bytes;          // bytes of this chunk in data
};

struct SegmentHeader {
  std::atomic<uint64_t> magic_and_size;  // kSegmentMagic ^ size, set by the first rank in
  std::atomic<uint32_t> joined;
  std::atomic<uint32_t> refused_rank;    // 1 + a rank that could not join: the others stop waiting
};

// Chunk size: a few MiB of segment in all, at most 1 MiB per mailbox, whole pages.
uint64_t chunk_bytes_for(uint32_t size) {
  const uint64_t per_box = (uint64_t(32) << 20) / (uint64_t(size) * size);
  return std::clamp<uint64_t>(per_box, 64 << 10, 1 << 20) & ~uint64_t(4095);
}

uint64_t box_stride(uint64_t chunk) { return (sizeof(Mailbox) + chunk + 63) & ~uint64_t(63); }

uint64_t boxes_offset(uint32_t size) { return (sizeof(SegmentHeader) + size * sizeof(std::atomic<int32_t>) + 63) & ~uint64_t(63); }

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

bool process_gone(int32_t pid) { return pid > 0 && kill(pid, 0) != 0 && errno == ESRCH; }

}  // namespace
}  // namespace npu_sim

// This process's rank's view of the segment. Shared by the communicator and queued exchanges.
struct NpuProcessLinks {
  uint32_t rank = 0, size = 0;
  uint64_t chunk = 0;
  std::byte* base = nullptr;
  uint64_t bytes = 0;
  std::string broken;  // set when a peer is gone or silent: later exchanges fail at once

  ~NpuProcessLinks() {
    if (base) munmap(base, bytes);
  }
  npu_sim::SegmentHeader& header() const { return *reinterpret_cast<npu_sim::SegmentHeader*>(base); }
  std::atomic<int32_t>& pid(uint32_t r) const {
    return reinterpret_cast<std::atomic<int32_t>*>(base + sizeof(npu_sim::SegmentHeader))[r];
  }
  npu_sim::Mailbox& box(uint32_t from, uint32_t to) const {
    return *reinterpret_cast<npu_sim::Mailbox*>(base + npu_sim::boxes_offset(size) +
                                               (uint64_t(from) * size + to) * npu_sim::box_stride(chunk));
  }
  std::byte* box_data(uint32_t from, uint32_t to) const {
    return reinterpret_cast<std::byte*>(&box(from, to)) + sizeof(npu_sim::Mailbox);
  }
};

namespace npu_sim {
namespace {

// Waits until every rank has joined (each checks in with its pid); then the name is no longer needed.
dshal_status wait_for_peers(NpuProcessLinks& l, const char* name) {
  const auto start = Clock::now();
  while (l.header().joined.load(std::memory_order_acquire) < l.size) {
    if (const uint32_t r = l.header().refused_rank.load(); r > 0)
      return fail(DSHAL_ERROR_DEVICE, "comm_create_rank: rank " + std::to_string(r - 1) + " could not join");
    for (uint32_t r = 0; r < l.size; ++r)
      if (process_gone(l.pid(r).load()))
        return fail(DSHAL_ERROR_DEVICE, "comm_create_rank: rank " + std::to_string(r) + " exited before all joined");
    if (Clock::now() - start > kPeerTimeout)
      return fail(DSHAL_ERROR_DEVICE, "comm_create_rank: " + std::to_string(l.header().joined.load()) + " of " +
                                          std::to_string(l.size) + " ranks joined within " +
                                          std::to_string(kPeerTimeout.count()) + " s");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  shm_unlink(name);  // every rank has it mapped; ENOENT from the ranks after the first is fine
  return DSHAL_OK;
}

// One exchange, this rank's side, run on its stream's worker once earlier work is done.
struct ProcessExchange {
  std::shared_ptr<NpuProcessLinks> links;
  uint32_t elem_bytes = 0;
  dshal_buffer_ref send, recv;
  std::vector<uint64_t> send_counts, send_displs, recv_counts, recv_displs;

  // Only for a non-zero count: hal passes no buffer for a side that moves nothing.
  std::byte* send_at(uint32_t p) const { return send.buffer->data + send.offset + send_displs[p] * elem_bytes; }
  std::byte* recv_at(uint32_t p) const { return recv.buffer->data + recv.offset + recv_displs[p] * elem_bytes; }

  dshal_stream_s::Outcome run(const Spec& spec) {
    NpuProcessLinks& l = *links;
    if (!l.broken.empty()) return {{DSHAL_ERROR_DEVICE, l.broken}, 0};
    const uint32_t me = l.rank, n = l.size;
    std::string mismatch;  // the first count that disagrees; reported once everything has moved
    uint64_t remote = 0;
    std::vector<uint64_t> sent(n, 0), got(n, 0);
    std::vector<bool> send_done(n, false), recv_done(n, false);
    const uint64_t own = send_counts[me] * elem_bytes;
    send_done[me] = recv_done[me] = true;
    if (recv_counts[me] != send_counts[me])
      mismatch = "all_to_all: rank " + std::to_string(me) + " sends itself " + std::to_string(send_counts[me]) +
                 " elements but expects recv_counts[" + std::to_string(me) + "] = " + std::to_string(recv_counts[me]);
    else if (own > 0) {
      WorkResult r = dma({{send_at(me), own, false}, {recv_at(me), own, true}},
                         [&] { std::memmove(recv_at(me), send_at(me), own); });
      if (r.status != DSHAL_OK) return {r, 0};
    }
    auto idle_since = Clock::now();
    for (uint32_t spins = 0;;) {
      bool moved = false, all_done = true;
      for (uint32_t p = 0; p < n; ++p) {
        if (!send_done[p]) {
          Mailbox& box = l.box(me, p);
          if (box.posted.load(std::memory_order_relaxed) == box.taken.load(std::memory_order_acquire)) {
            const uint64_t total = send_counts[p] * elem_bytes, bytes = std::min(l.chunk, total - sent[p]);
            if (bytes > 0) {
              std::byte* to = l.box_data(me, p);
              std::byte* from = send_at(p) + sent[p];
              WorkResult r = dma({{from, bytes, false}}, [&] { std::memcpy(to, from, bytes); });
              if (r.status != DSHAL_OK) return {r, 0};
            }
            box.message_bytes = total;
            box.chunk_bytes = bytes;
            box.posted.fetch_add(1, std::memory_order_release);
            sent[p] += bytes;
            send_done[p] = sent[p] == total;
            moved = true;
          }
        }
        if (!recv_done[p]) {
          Mailbox& box = l.box(p, me);
          if (box.posted.load(std::memory_order_acquire) > box.taken.load(std::memory_order_relaxed)) {
            // Read before the chunk is handed back: then the sender may overwrite them.
            const uint64_t expected = recv_counts[p] * elem_bytes, bytes = box.chunk_bytes, total = box.message_bytes;
            // A message of another size is taken whole and dropped: recv is left alone, the sender
            // finishes, and the next exchange starts in step.
            const bool drop = total != expected;
            if (drop && mismatch.empty())
              mismatch = "all_to_all: rank " + std::to_string(p) + " sends " + std::to_string(total) +
                         " bytes to rank " + std::to_string(me) + ", which expects " + std::to_string(expected) +
                         " (recv_counts[" + std::to_string(p) + "] = " + std::to_string(recv_counts[p]) + ")";
            if (bytes > 0 && !drop) {
              std::byte* to = recv_at(p) + got[p];
              const std::byte* from = l.box_data(p, me);
              WorkResult r = dma({{to, bytes, true}}, [&] { std::memcpy(to, from, bytes); });
              if (r.status != DSHAL_OK) return {r, 0};
            }
            box.taken.fetch_add(1, std::memory_order_release);
            got[p] += bytes;
            remote += bytes;
            recv_done[p] = got[p] == total;
            moved = true;
          }
        }
        all_done = all_done && send_done[p] && recv_done[p];
      }
      if (all_done) {
        const uint64_t ns = cost::all_to_all_ns(spec, own, remote);
        if (!mismatch.empty()) return {{DSHAL_ERROR_INVALID_ARGUMENT, mismatch}, ns};
        return {{}, ns};
      }
      if (moved) {
        spins = 0;
        idle_since = Clock::now();
        continue;
      }
      // Nothing moved: give the peers (which may share this core) time, and notice when one is gone.
      if (++spins < 64) {
        std::this_thread::yield();
        continue;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
      for (uint32_t p = 0; p < n; ++p)
        if ((!send_done[p] || !recv_done[p]) && process_gone(l.pid(p).load())) {
          l.broken = "all_to_all: rank " + std::to_string(p) + " (pid " + std::to_string(l.pid(p).load()) +
                     ") has exited";
          return {{DSHAL_ERROR_DEVICE, l.broken}, 0};
        }
      if (Clock::now() - idle_since > kPeerTimeout) {
        l.broken = "all_to_all: no data moved to or from the peers for " + std::to_string(kPeerTimeout.count()) +
                   " s (does every rank call all_to_all?)";
        return {{DSHAL_ERROR_DEVICE, l.broken}, 0};
      }
    }
  }
};

}  // namespace

dshal_status comm_id_create(dshal_device, dshal_comm_id* out) {
  return guarded("comm_id_create", [&] {
    *out = dshal_comm_id{};
    IdBytes id{};
    std::memcpy(id.magic, kIdMagic, sizeof kIdMagic);
    std::random_device entropy;
    const uint64_t salt = (uint64_t(entropy()) << 32) ^ entropy();
    std::snprintf(id.name, sizeof id.name, "/dshal-npu-sim-%d-%016llx", int(getpid()), (unsigned long long)salt);
    std::memcpy(out->bytes, &id, sizeof id);
    return DSHAL_OK;
  });
}

dshal_status comm_create_rank(dshal_device device, const dshal_comm_id* id_bytes, uint32_t rank, uint32_t size,
                              dshal_comm* out) {
  return guarded("comm_create_rank", [&] {
    *out = nullptr;
    IdBytes id;
    std::memcpy(&id, id_bytes->bytes, sizeof id);
    if (std::memcmp(id.magic, kIdMagic, sizeof kIdMagic) != 0 || id.name[sizeof id.name - 1] != '\0')
      return fail(DSHAL_ERROR_INVALID_ARGUMENT, "comm_create_rank: the id was not made by npu-sim's comm_id_create");
    if (size == 0 || rank >= size)
      return fail(DSHAL_ERROR_INVALID_ARGUMENT,
                  "comm_create_rank: rank " + std::to_string(rank) + " of " + std::to_string(size) + " ranks");
    auto links = std::make_shared<NpuProcessLinks>();
    links->rank = rank;
    links->size = size;
    links->chunk = chunk_bytes_for(size);
    links->bytes = boxes_offset(size) + uint64_t(size) * size * box_stride(links->chunk);
    // Every rank creates or opens the segment; a fresh one reads as zeros, which is its initial state.
    const int fd = shm_open(id.name, O_RDWR | O_CREAT, 0600);
    if (fd < 0) return fail(DSHAL_ERROR_DEVICE, errno_text(("comm_create_rank: shm_open " + std::string(id.name)).c_str()));
    const bool sized = ftruncate(fd, off_t(links->bytes)) == 0;
    void* p = sized ? mmap(nullptr, links->bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
    const std::string why = errno_text(sized ? "mmap" : "ftruncate");
    close(fd);
    if (p == MAP_FAILED) return fail(DSHAL_ERROR_DEVICE, "comm_create_rank: " + why + " of " + id.name);
    links->base = static_cast<std::byte*>(p);
    auto refuse = [&](std::string why) {
      links->header().refused_rank.store(rank + 1);
      shm_unlink(id.name);
      return fail(DSHAL_ERROR_INVALID_ARGUMENT, "comm_create_rank: " + why);
    };
    uint64_t expected = 0;
    const uint64_t shape = kSegmentMagic ^ size;
    if (!links->header().magic_and_size.compare_exchange_strong(expected, shape) && expected != shape)
      return refuse("the ranks disagree on the communicator's size (this rank says " + std::to_string(size) + ")");
    int32_t nobody = 0;
    if (!links->pid(rank).compare_exchange_strong(nobody, int32_t(getpid())))
      return refuse("rank " + std::to_string(rank) + " has joined already (pid " + std::to_string(nobody) + ")");
    links->header().joined.fetch_add(1, std::memory_order_acq_rel);
    if (dshal_status st = wait_for_peers(*links, id.name); st != DSHAL_OK) {
      shm_unlink(id.name);
      return st;
    }
    *out = new dshal_comm_s{{device}, std::move(links)};
    return DSHAL_OK;
  });
}

void enqueue_process_exchange(dshal_comm comm, const dshal_all_to_all_desc& desc) {
  const dshal_all_to_all_rank& in = desc.ranks[0];
  const uint32_t n = comm->links->size;
  auto x = std::make_shared<ProcessExchange>();
  x->links = comm->links;
  x->elem_bytes = desc.elem_bytes;
  x->send = in.send;
  x->recv = in.recv;
  x->send_counts.assign(in.send_counts, in.send_counts + n);
  x->send_displs.assign(in.send_displs, in.send_displs + n);
  x->recv_counts.assign(in.recv_counts, in.recv_counts + n);
  x->recv_displs.assign(in.recv_displs, in.recv_displs + n);
  dshal_stream stream = in.stream;
  stream->enqueue([x, stream] { return x->run(*stream->device->spec); });
}

}  // namespace npu_sim
