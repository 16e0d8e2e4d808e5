// adapters/template/template_transfers.cpp: copies and fill, all async on a stream. hal has checked
// every offset + length against the buffers; what matters here is the lifetime rule: host pointers
// stay valid until the copy completes, but fill's pattern is only valid during the call.
#include <cstring>

#include "template.hpp"

namespace dshal_template {

// A real device enqueues a DMA from (pinned or staged) host memory.
dshal_status copy_h2d(dshal_stream stream, const void* src, dshal_buffer dst, uint64_t dst_offset, uint64_t bytes) {
  return guarded("copy_h2d", [&] {
    stream->enqueue([=] {
      std::memcpy(dst->data + dst_offset, src, bytes);
      return WorkResult{};
    });
    return DSHAL_OK;
  });
}

dshal_status copy_d2h(dshal_stream stream, dshal_buffer src, uint64_t src_offset, void* dst, uint64_t bytes) {
  return guarded("copy_d2h", [&] {
    stream->enqueue([=] {
      std::memcpy(dst, src->data + src_offset, bytes);
      return WorkResult{};
    });
    return DSHAL_OK;
  });
}

// src and dst may be on different devices of this adapter (peer copy on a real device, or staged
// through the host when there is no peer path).
dshal_status copy_d2d(dshal_stream stream, dshal_buffer src, uint64_t src_offset, dshal_buffer dst,
                      uint64_t dst_offset, uint64_t bytes) {
  return guarded("copy_d2d", [&] {
    stream->enqueue([=] {
      std::memcpy(dst->data + dst_offset, src->data + src_offset, bytes);
      return WorkResult{};
    });
    return DSHAL_OK;
  });
}

// The pattern (1, 2 or 4 bytes) is copied into the work now: the caller's pointer is only valid
// during the call. bytes is a multiple of pattern_bytes (hal checks).
dshal_status fill(dshal_stream stream, dshal_buffer dst, uint64_t offset, uint64_t bytes, const void* pattern,
                  uint32_t pattern_bytes) {
  return guarded("fill", [&] {
    unsigned char value[4] = {};
    std::memcpy(value, pattern, pattern_bytes);
    stream->enqueue([=] {
      std::byte* out = dst->data + offset;
      for (uint64_t i = 0; i < bytes; i += pattern_bytes) std::memcpy(out + i, value, pattern_bytes);
      return WorkResult{};
    });
    return DSHAL_OK;
  });
}

}  // namespace dshal_template
