// Buffers from the stream-ordered allocator, and copies. A copy from or to pageable host memory
// goes through a pinned chunk of the stream's StagingPool, so it stays asynchronous: h2d copies
// the source into the chunk at once; d2h copies into the chunk and a host callback moves the bytes
// to the destination. The chunk returns to the pool from a host callback after its copy.
#include "cuda.hpp"

#include <cstring>

namespace dshal::cuda {

StagingPool::~StagingPool() {
  for (auto& [p, bytes] : all_) gpuFreeHost(p);
}

std::byte* StagingPool::take(uint64_t bytes, gpuError_t* error) {
  std::lock_guard<std::mutex> lock(m_);
  for (size_t i = 0; i < free_.size(); ++i)
    if (free_[i].second >= bytes) {
      std::byte* p = free_[i].first;
      free_.erase(free_.begin() + std::ptrdiff_t(i));
      return p;
    }
  void* p = nullptr;
  if ((*error = gpuMallocHost(&p, bytes)) != gpuSuccess) return nullptr;
  all_.push_back({static_cast<std::byte*>(p), bytes});
  return static_cast<std::byte*>(p);
}

void StagingPool::give_back(std::byte* chunk) {
  std::lock_guard<std::mutex> lock(m_);
  for (auto& entry : all_)
    if (entry.first == chunk) free_.push_back(entry);
}

namespace {

// What a host callback needs after a staged copy has run.
struct StagedCopy {
  StagingPool* pool;
  std::byte* chunk;
  void* dst = nullptr;  // d2h: the pageable destination
  uint64_t bytes = 0;
};

void finish_staged_copy(void* arg) {  // runs on the runtime's callback thread; no runtime calls
  std::unique_ptr<StagedCopy> c(static_cast<StagedCopy*>(arg));
  if (c->dst) std::memcpy(c->dst, c->chunk, c->bytes);
  c->pool->give_back(c->chunk);
}

bool pageable(const void* host) {
  gpuPointerAttributes attr{};
  if (gpuPointerGetAttributes(&attr, host) != gpuSuccess) {
    gpuGetLastError();  // older runtimes flag unregistered memory as an error; clear it
    return true;
  }
  return attr.type == gpuMemoryTypeUnregistered;
}

dshal_status buffer_alloc(dshal_device device, uint64_t size, dshal_buffer* out) {
  return guarded([&] {
    *out = nullptr;
    Device* d = as_device(device);
    if (dshal_status st = use(d); st != DSHAL_OK) return st;
    auto b = std::make_unique<Buffer>();
    b->device = d;
    b->size = size;
    void* p = nullptr;
    DSHAL_GPU(gpuMallocAsync(&p, size, nullptr));
    DSHAL_GPU(gpuStreamSynchronize(nullptr));  // blocking by contract: usable on any stream at once
    b->ptr = static_cast<std::byte*>(p);
    *out = reinterpret_cast<dshal_buffer>(b.release());
    return DSHAL_OK;
  });
}

dshal_status buffer_free(dshal_buffer buffer) {
  return guarded([&] {
    std::unique_ptr<Buffer> b(as_buffer(buffer));
    if (dshal_status st = use(b->device); st != DSHAL_OK) return st;
    DSHAL_GPU(gpuFreeAsync(b->ptr, nullptr));
    DSHAL_GPU(gpuStreamSynchronize(nullptr));
    return DSHAL_OK;
  });
}

// bytes written by write() into a pinned chunk, then copied to dst on the stream; the chunk returns
// to the pool once the copy ran (or at once when it could not be queued).
template <class Write>
dshal_status staged_h2d(Stream* s, dshal_buffer dst, uint64_t dst_offset, uint64_t bytes, Write&& write) {
  gpuError_t e = gpuSuccess;
  std::byte* chunk = s->staging->take(bytes, &e);
  if (!chunk) return gpu_fail(e, "cudaMallocHost (staging)");
  write(chunk);
  if ((e = gpuMemcpyAsync(at(dst, dst_offset), chunk, bytes, gpuMemcpyHostToDevice, s->stream)) != gpuSuccess) {
    s->staging->give_back(chunk);
    return gpu_fail(e, "cudaMemcpyAsync (staged)");
  }
  DSHAL_GPU(gpuLaunchHostFunc(s->stream, finish_staged_copy, new StagedCopy{s->staging.get(), chunk}));
  return DSHAL_OK;
}

dshal_status copy_h2d(dshal_stream stream, const void* src, dshal_buffer dst, uint64_t dst_offset, uint64_t bytes) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    if (dshal_status st = use(s->device); st != DSHAL_OK) return st;
    if (!pageable(src)) {
      DSHAL_GPU(gpuMemcpyAsync(at(dst, dst_offset), src, bytes, gpuMemcpyHostToDevice, s->stream));
      return DSHAL_OK;
    }
    return staged_h2d(s, dst, dst_offset, bytes, [&](std::byte* chunk) { std::memcpy(chunk, src, bytes); });
  });
}

dshal_status copy_d2h(dshal_stream stream, dshal_buffer src, uint64_t src_offset, void* dst, uint64_t bytes) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    if (dshal_status st = use(s->device); st != DSHAL_OK) return st;
    if (!pageable(dst)) {
      DSHAL_GPU(gpuMemcpyAsync(dst, at(src, src_offset), bytes, gpuMemcpyDeviceToHost, s->stream));
      return DSHAL_OK;
    }
    gpuError_t e = gpuSuccess;
    std::byte* chunk = s->staging->take(bytes, &e);
    if (!chunk) return gpu_fail(e, "cudaMallocHost (staging)");
    if ((e = gpuMemcpyAsync(chunk, at(src, src_offset), bytes, gpuMemcpyDeviceToHost, s->stream)) != gpuSuccess) {
      s->staging->give_back(chunk);
      return gpu_fail(e, "cudaMemcpyAsync (staged)");
    }
    DSHAL_GPU(gpuLaunchHostFunc(s->stream, finish_staged_copy, new StagedCopy{s->staging.get(), chunk, dst, bytes}));
    return DSHAL_OK;
  });
}

dshal_status copy_d2d(dshal_stream stream, dshal_buffer src, uint64_t src_offset, dshal_buffer dst, uint64_t dst_offset,
                      uint64_t bytes) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    if (dshal_status st = use(s->device); st != DSHAL_OK) return st;
    DSHAL_GPU(gpuMemcpyAsync(at(dst, dst_offset), at(src, src_offset), bytes, gpuMemcpyDeviceToDevice, s->stream));
    return DSHAL_OK;
  });
}

dshal_status fill(dshal_stream stream, dshal_buffer dst, uint64_t offset, uint64_t bytes, const void* pattern,
                  uint32_t pattern_bytes) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    if (dshal_status st = use(s->device); st != DSHAL_OK) return st;
    uint32_t word = 0;
    std::memcpy(&word, pattern, pattern_bytes);
    const bool bytewise = pattern_bytes == 1 || (pattern_bytes == 2 && (word & 0xff) == (word >> 8)) ||
                          (pattern_bytes == 4 && word == (word & 0xff) * 0x01010101u);
    if (bytewise) {
      DSHAL_GPU(gpuMemsetAsync(at(dst, offset), int(word & 0xff), bytes, s->stream));
      return DSHAL_OK;
    }
    // A wider pattern: repeated into a pinned chunk, then copied into place.
    return staged_h2d(s, dst, offset, bytes, [&](std::byte* chunk) {
      for (uint64_t i = 0; i < bytes; i += pattern_bytes) std::memcpy(chunk + i, pattern, pattern_bytes);
    });
  });
}

}  // namespace

void fill_memory_slots(dshal_adapter_table* t) {
  t->buffer_alloc = buffer_alloc;
  t->buffer_free = buffer_free;
  t->copy_h2d = copy_h2d;
  t->copy_d2h = copy_d2h;
  t->copy_d2d = copy_d2d;
  t->fill = fill;
}

}  // namespace dshal::cuda
