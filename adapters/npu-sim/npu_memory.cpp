// adapters/npu-sim/npu_memory.cpp: card memory ("HBM") and the DMA engine, the only code that ever
// touches it.
//
// Each card's memory is one mmap(PROT_NONE | MAP_NORESERVE) reservation of the spec's memory_bytes:
// virtual address space only, nothing committed until written. Buffers are carved out of it by a
// first-fit allocator in whole pages (so freeing can hand pages back with madvise). Because the
// pages are PROT_NONE, any host code that dereferences a buffer's address — hal, a host fallback
// that forgot to copy, the conformance suite, or this adapter's own API thread — gets SIGSEGV, as
// it would on a real card whose memory is not mapped into the host.
//
// The DMA engine is one thread for all cards. A DMA job names the card-memory windows it touches;
// the engine opens exactly those pages (mprotect to read or read+write), runs the job (memcpy /
// memset only), and closes them again before the next job. Nothing else calls mprotect, so card
// memory is reachable only from this thread, and only for the duration of a copy. (mprotect is
// process-wide: during a copy another thread could in principle reach the open pages. The window
// is a few microseconds per copy; the guarantee tested is that no path that is not a DMA job can
// read card memory.) One engine for all cards keeps page protection consistent when a copy spans
// two cards (copy_d2d between cards, all_to_all).
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "npu_sim.hpp"

using npu_sim::WorkResult;

struct NpuHbm {
  uint32_t card = 0;
  std::byte* base = nullptr;
  uint64_t bytes = 0;
  std::mutex mutex;
  std::map<uint64_t, uint64_t> free;  // offset -> length, coalesced

  ~NpuHbm() {
    if (base) munmap(base, bytes);
  }
};

void NpuHbmDeleter::operator()(NpuHbm* hbm) const { delete hbm; }

namespace npu_sim {
namespace {

uint64_t page_bytes() {
  static const uint64_t p = uint64_t(sysconf(_SC_PAGESIZE));
  return p;
}

uint64_t round_up(uint64_t x, uint64_t to) { return (x + to - 1) / to * to; }

// ---- the DMA engine ----------------------------------------------------------------------------

class DmaEngine {
 public:
  struct Job {
    const std::vector<Window>* windows;
    const std::function<void()>* body;
    WorkResult result;
    bool done = false;
  };

  DmaEngine() : worker_([this] { run(); }) {}
  ~DmaEngine() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    worker_.join();
  }

  WorkResult submit(const std::vector<Window>& windows, const std::function<void()>& body) {
    Job job{&windows, &body, {}, false};
    std::unique_lock lock(mutex_);
    queue_.push_back(&job);
    changed_.notify_all();
    changed_.wait(lock, [&] { return job.done; });
    return job.result;
  }

 private:
  // Opens every window's pages (reads first, then writes, so a page both read and written ends up
  // writable), runs the job, and closes all of them again.
  static void execute(Job& job) {
    std::vector<std::pair<std::byte*, uint64_t>> opened;
    auto open = [&](const Window& w) {
      if (w.bytes == 0) return;
      const uint64_t p = page_bytes();
      const uintptr_t first = reinterpret_cast<uintptr_t>(w.address) / p * p;
      const uintptr_t last = round_up(reinterpret_cast<uintptr_t>(w.address) + w.bytes, p);
      auto* start = reinterpret_cast<std::byte*>(first);
      if (mprotect(start, last - first, w.write ? PROT_READ | PROT_WRITE : PROT_READ) != 0)
        throw std::runtime_error("DMA engine: mprotect failed to open card memory: " + std::string(std::strerror(errno)));
      opened.push_back({start, last - first});
    };
    try {
      for (const Window& w : *job.windows)
        if (!w.write) open(w);
      for (const Window& w : *job.windows)
        if (w.write) open(w);
      (*job.body)();
    } catch (const std::exception& e) {
      job.result = {DSHAL_ERROR_DEVICE, e.what()};
    } catch (...) {
      job.result = {DSHAL_ERROR_DEVICE, "DMA engine: unknown exception in a copy"};
    }
    for (const auto& [start, len] : opened) mprotect(start, len, PROT_NONE);
  }

  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      Job* job = queue_.front();
      queue_.pop_front();
      lock.unlock();
      execute(*job);
      lock.lock();
      job->done = true;
      changed_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Job*> queue_;
  bool stopping_ = false;
  std::thread worker_;
};

std::mutex g_engine_mutex;
std::unique_ptr<DmaEngine> g_engine;
uint32_t g_engine_users = 0;

}  // namespace

void dma_engine_acquire() {
  std::lock_guard lock(g_engine_mutex);
  if (g_engine_users++ == 0) g_engine = std::make_unique<DmaEngine>();
}

void dma_engine_release() {
  std::lock_guard lock(g_engine_mutex);
  if (--g_engine_users == 0) g_engine.reset();
}

WorkResult dma(const std::vector<Window>& windows, const std::function<void()>& job) {
  DmaEngine* engine = nullptr;
  {
    std::lock_guard lock(g_engine_mutex);
    engine = g_engine.get();
  }
  if (!engine) return {DSHAL_ERROR_INTERNAL, "DMA engine: no device is open"};
  return engine->submit(windows, job);
}

// ---- card memory -------------------------------------------------------------------------------

NpuHbmPtr hbm_reserve(uint32_t card, uint64_t bytes, std::string* error) {
  NpuHbmPtr hbm(new NpuHbm);
  hbm->card = card;
  hbm->bytes = round_up(bytes, page_bytes());
  // PROT_NONE: the host cannot touch it. MAP_NORESERVE: no commit charge for the reservation, and
  // none when the DMA engine opens pages (so reopened and reclosed pages merge back into one VMA).
  void* p = mmap(nullptr, hbm->bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    *error = "cannot reserve " + std::to_string(hbm->bytes) + " bytes of address space for card " +
             std::to_string(card) + ": " + std::strerror(errno);
    return nullptr;
  }
  hbm->base = static_cast<std::byte*>(p);
  hbm->free.emplace(0, hbm->bytes);
  return hbm;
}


// First fit in whole pages. storage_bytes may exceed size_bytes (NZ padding).
dshal_status allocate(dshal_device device, uint64_t size_bytes, uint64_t storage_bytes, dshal_buffer* out) {
  *out = nullptr;
  NpuHbm& hbm = *device->hbm;
  auto oom = [&] {
    return fail(DSHAL_ERROR_OUT_OF_MEMORY, "buffer_alloc: " + std::to_string(size_bytes) + " bytes do not fit in npu-sim:" +
                                               std::to_string(device->index) + "'s free card memory (" +
                                               std::to_string(hbm.bytes) + " bytes in all)");
  };
  if (storage_bytes > hbm.bytes) return oom();
  const uint64_t want = round_up(std::max<uint64_t>(storage_bytes, 1), page_bytes());
  std::byte* address = nullptr;
  {
    std::lock_guard lock(hbm.mutex);
    for (auto it = hbm.free.begin(); it != hbm.free.end(); ++it) {
      if (it->second < want) continue;
      const uint64_t offset = it->first, length = it->second;
      hbm.free.erase(it);
      if (length > want) hbm.free.emplace(offset + want, length - want);
      address = hbm.base + offset;
      break;
    }
  }
  if (!address) return oom();
  *out = new dshal_buffer_s{device, size_bytes, want, address};
  return DSHAL_OK;
}

// Blocking. size_bytes >= 1 (hal checks); too big for the card is DSHAL_ERROR_OUT_OF_MEMORY.
dshal_status buffer_alloc(dshal_device device, uint64_t size_bytes, dshal_buffer* out) {
  return guarded("buffer_alloc", [&] { return allocate(device, size_bytes, size_bytes, out); });
}

// hal has synchronized the device's streams. The pages go back to the kernel (MADV_DONTNEED keeps
// the reservation but drops the contents, so the next buffer there starts as zeros) and the range
// back to the free list, merged with its neighbours.
dshal_status buffer_free(dshal_buffer buffer) {
  return guarded("buffer_free", [&] {
    NpuHbm& hbm = *buffer->device->hbm;
    madvise(buffer->data, buffer->reserved_bytes, MADV_DONTNEED);
    {
      std::lock_guard lock(hbm.mutex);
      uint64_t offset = uint64_t(buffer->data - hbm.base), length = buffer->reserved_bytes;
      auto next = hbm.free.lower_bound(offset);
      if (next != hbm.free.end() && next->first == offset + length) {
        length += next->second;
        next = hbm.free.erase(next);
      }
      if (next != hbm.free.begin()) {
        auto prev = std::prev(next);
        if (prev->first + prev->second == offset) {
          offset = prev->first;
          length += prev->second;
          hbm.free.erase(prev);
        }
      }
      hbm.free.emplace(offset, length);
    }
    delete buffer;
    return DSHAL_OK;
  });
}

}  // namespace npu_sim
