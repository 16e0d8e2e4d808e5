// opencl prepack_weight: the GEMM kernels take weights in their plain layout (gemm packs what it
// needs per call), so the "packed" buffer is a device-side copy of the weight range, enqueued on
// the stream; the scales stay where they are.
#include "opencl_gemm.hpp"

namespace dshal::opencl {
namespace {

// The bytes hal lists for the weight (operands.cpp's list_weight): the packed buffer must hold them.
uint64_t weight_bytes(const dshal_prepack_desc& d) {
  const dshal_weight& w = d.w;
  uint64_t group;
  if (w.dtype == DSHAL_DTYPE_INT4) group = d.n * d.k / 2;
  else if (w.dtype == DSHAL_DTYPE_FP8_E4M3) group = d.n * d.k;
  else group = ((d.n - 1) * w.ld + d.k) * (w.dtype == DSHAL_DTYPE_F32 ? 4 : 2);
  return (d.groups - 1) * d.w_group_stride_bytes + group;
}

dshal_status prepack_weight(dshal_stream stream, const dshal_prepack_desc* d, dshal_buffer* out) {
  *out = nullptr;
  return guarded([&] {
    Stream* s = as_stream(stream);
    const uint64_t bytes = weight_bytes(*d);
    dshal_buffer packed = nullptr;
    if (dshal_status st = buffer_alloc(reinterpret_cast<dshal_device>(s->device), bytes, &packed); st != DSHAL_OK)
      return st;
    if (dshal_status st = copy_d2d(stream, d->w.buffer, d->w.offset, packed, 0, bytes); st != DSHAL_OK) {
      buffer_free(packed);
      return st;
    }
    *out = packed;
    return DSHAL_OK;
  });
}

}  // namespace

void fill_prepack_slots(dshal_adapter_table* t) { t->prepack_weight = prepack_weight; }

}  // namespace dshal::opencl
