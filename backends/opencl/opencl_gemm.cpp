// opencl GEMM slots: gemm (every dtype mix, transposes, strided batches).
#include "opencl.hpp"
#include "opencl_launch.hpp"

namespace dshal::opencl {
namespace {

dshal_status gemm(dshal_stream stream, const dshal_gemm_desc* d) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    // With k == 0, hal leaves A and B untranslated: they are not read.
    const dshal_buffer a = d->k ? d->a.buffer : nullptr, b = d->k ? d->b.buffer : nullptr;
    return Launch(s, "gemm.cl", "gemm_reference")
        .buffer(a, d->a.offset).arg(cl_int(d->a.dtype)).arg(cl_ulong(d->a.ld)).arg(cl_ulong(d->a.batch_stride)).arg(cl_int(d->trans_a))
        .buffer(b, d->b.offset).arg(cl_int(d->b.dtype)).arg(cl_ulong(d->b.ld)).arg(cl_ulong(d->b.batch_stride)).arg(cl_int(d->trans_b))
        .buffer(d->c.buffer, d->c.offset).arg(cl_int(d->c.dtype)).arg(cl_ulong(d->c.ld)).arg(cl_ulong(d->c.batch_stride))
        .arg(cl_ulong(d->m)).arg(cl_ulong(d->n)).arg(cl_ulong(d->k)).arg(d->alpha).arg(d->beta)
        .run({size_t(d->n), size_t(d->m), size_t(d->batch)});
  });
}

}  // namespace

void fill_gemm_slots(dshal_adapter_table* t) { t->gemm = gemm; }

}  // namespace dshal::opencl
