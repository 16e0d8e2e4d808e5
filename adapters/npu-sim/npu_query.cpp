// adapters/npu-sim/npu_query.cpp: which descriptors the card runs natively. Everything declined
// here runs in hal's host fallback (and is counted as a fallback in the conformance report).
#include "npu_sim.hpp"

namespace npu_sim {
namespace {

bool cube_type(dshal_dtype t) { return t == DSHAL_DTYPE_F16 || t == DSHAL_DTYPE_BF16; }

}  // namespace

// Non-blocking, thread-safe, and never the last word on correctness: hal has validated desc.
dshal_status query_op(dshal_device, dshal_op op, const void* desc) {
  switch (op) {
    case DSHAL_OP_GEMM: {
      // The cube takes f16 / bf16 only (hal already sends other input types to the host).
      const auto* d = static_cast<const dshal_gemm_desc*>(desc);
      return cube_type(d->a.dtype) && cube_type(d->b.dtype) ? DSHAL_OK : DSHAL_ERROR_UNSUPPORTED;
    }
    case DSHAL_OP_GROUPED_GEMM: {
      // f16 / bf16 weights, plain or NZ-packed; activations of any type (see npu_gemm.cpp), so a
      // packed weight always runs here, on the layout the cube reads.
      const auto* d = static_cast<const dshal_grouped_gemm_desc*>(desc);
      return cube_type(d->w.dtype) ? DSHAL_OK : DSHAL_ERROR_UNSUPPORTED;
    }
    case DSHAL_OP_PREPACK_WEIGHT: {
      // Only what the cube reads natively; hal makes a plain copy of the rest.
      const auto* d = static_cast<const dshal_prepack_desc*>(desc);
      return cube_type(d->w.dtype) ? DSHAL_OK : DSHAL_ERROR_UNSUPPORTED;
    }
    default:
      return DSHAL_ERROR_UNSUPPORTED;  // the slot is NULL anyway: hal's host fallback runs it
  }
}

}  // namespace npu_sim
