// Status words: how a kernel reports bad device-resident input (an embedding id, a rope position,
// grouped-GEMM offsets) it finds while running. Each stream owns kStatusWords int32 words; the
// first kernel to find an error writes its code and three details, later ones leave them alone.
// The stream's next synchronize reports it once and clears the words; an event reports the words
// as they were when it was recorded. The codes match backends/opencl/kernels/status.h and
// backends/vulkan/shaders/status.glsl.
#pragma once

#include <dshal/adapter.h>

#include <cstdint>
#include <string>

namespace dshal::backend {

constexpr int kStatusWords = 4;

// The message for the words' error; DSHAL_OK (message untouched) when they are clear.
inline dshal_status status_from_words(const int32_t w[kStatusWords], std::string* message) {
  switch (w[0]) {
    case 0:
      return DSHAL_OK;
    case 1:  // DSHAL_STATUS_EMBEDDING_ID
      *message = "embedding: ids[" + std::to_string(w[1]) + "] = " + std::to_string(w[2]) + " is outside [0, vocab = " +
                 std::to_string(w[3]) + ")";
      return DSHAL_ERROR_INVALID_ARGUMENT;
    case 2:  // DSHAL_STATUS_GROUP_OFFSETS
      *message = "grouped_gemm: offsets[" + std::to_string(w[1]) + "] = " + std::to_string(w[2]) +
                 " breaks 0 <= offsets[0] <= offsets[g] <= offsets[g+1] <= m (limit " + std::to_string(w[3]) + ")";
      return DSHAL_ERROR_INVALID_ARGUMENT;
    case 3:  // DSHAL_STATUS_ROPE_POSITION
      *message = "rope: positions[" + std::to_string(w[1]) + "] = " + std::to_string(w[2]) +
                 " is outside [0, max_position = " + std::to_string(w[3]) + ")";
      return DSHAL_ERROR_INVALID_ARGUMENT;
    default:
      *message = "a kernel reported unknown status code " + std::to_string(w[0]);
      return DSHAL_ERROR_INTERNAL;
  }
}

}  // namespace dshal::backend
