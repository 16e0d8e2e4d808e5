// Messages for errors kernels find in device-resident input; the codes match kernels/status.h.
#include "opencl.hpp"

namespace dshal::opencl {

dshal_status status_from_words(const int32_t w[kStatusWords], std::string* message) {
  switch (w[0]) {
    case 0:
      return DSHAL_OK;
    case 1:  // DSHAL_STATUS_EMBEDDING_ID
      *message = "embedding: ids[" + std::to_string(w[1]) + "] = " + std::to_string(w[2]) + " is outside [0, vocab " +
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

}  // namespace dshal::opencl
