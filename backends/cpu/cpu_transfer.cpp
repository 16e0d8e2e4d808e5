// cpu copies and fill, enqueued on the stream; large copies are split over oneTBB's threads.
#include <oneapi/tbb/parallel_for.h>

#include <cstring>
#include <vector>

#include "cpu.hpp"
#include "host/kernels.hpp"

namespace dshal::cpu {

void parallel_copy(void* dst, const void* src, uint64_t bytes) {
  constexpr uint64_t kChunk = 1 << 20;
  if (bytes < 4 * kChunk) {
    std::memcpy(dst, src, bytes);
    return;
  }
  tbb::parallel_for(uint64_t(0), (bytes + kChunk - 1) / kChunk, [&](uint64_t i) {
    const uint64_t begin = i * kChunk;
    std::memcpy(static_cast<std::byte*>(dst) + begin, static_cast<const std::byte*>(src) + begin,
                std::min(kChunk, bytes - begin));
  });
}

dshal_status copy_h2d(dshal_stream s, const void* src, dshal_buffer dst, uint64_t off, uint64_t bytes) {
  return guarded([&] {
    as_stream(s)->enqueue([=](std::string*) {
      parallel_copy(host::host_ptr(dst, off), src, bytes);
      return DSHAL_OK;
    });
    return DSHAL_OK;
  });
}

dshal_status copy_d2h(dshal_stream s, dshal_buffer src, uint64_t off, void* dst, uint64_t bytes) {
  return guarded([&] {
    as_stream(s)->enqueue([=](std::string*) {
      parallel_copy(dst, host::host_ptr(src, off), bytes);
      return DSHAL_OK;
    });
    return DSHAL_OK;
  });
}

dshal_status copy_d2d(dshal_stream s, dshal_buffer src, uint64_t src_off, dshal_buffer dst, uint64_t dst_off, uint64_t bytes) {
  return guarded([&] {
    as_stream(s)->enqueue([=](std::string*) {
      parallel_copy(host::host_ptr(dst, dst_off), host::host_ptr(src, src_off), bytes);
      return DSHAL_OK;
    });
    return DSHAL_OK;
  });
}

dshal_status fill(dshal_stream s, dshal_buffer dst, uint64_t off, uint64_t bytes, const void* pattern, uint32_t pattern_bytes) {
  return guarded([&] {
    uint32_t word = 0;  // the pattern repeated to 4 bytes, captured by value
    std::memcpy(&word, pattern, pattern_bytes);
    if (pattern_bytes == 1) word *= 0x01010101u;
    if (pattern_bytes == 2) word |= word << 16;
    as_stream(s)->enqueue([=](std::string*) {
      std::byte* p = host::host_ptr(dst, off);
      if (pattern_bytes == 1) {
        std::memset(p, int(word & 0xff), bytes);
        return DSHAL_OK;
      }
      uint64_t i = 0;
      for (; i + 4 <= bytes; i += 4) std::memcpy(p + i, &word, 4);
      if (i < bytes) std::memcpy(p + i, &word, bytes - i);  // a 2-byte pattern's last half word
      return DSHAL_OK;
    });
    return DSHAL_OK;
  });
}

}  // namespace dshal::cpu
