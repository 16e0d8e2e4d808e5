// opencl elementwise and embedding (kernels/elementwise.cl): one work-item per element. Each
// returns at once for an empty shape: hal then lists no operand and the handles are not the
// backend's.
#include "opencl_launch.hpp"
#include "opencl_ops.hpp"

namespace dshal::opencl {
namespace {

dshal_status elementwise(dshal_stream stream, const dshal_elementwise_desc* d) {
  return guarded([&] {
    if (d->n == 0) return DSHAL_OK;
    Stream* s = as_stream(stream);
    // hal lists b only for ADD and MUL; SCALE and CAST get the status buffer, never read.
    const bool binary = d->op == DSHAL_ELEMENTWISE_ADD || d->op == DSHAL_ELEMENTWISE_MUL;
    return Launch(s, "elementwise.cl", "elementwise")
        .buffer(d->a.buffer, d->a.offset).arg(cl_int(d->a.dtype))
        .buffer(binary ? d->b.buffer : nullptr, d->b.offset).arg(cl_int(d->b.dtype))
        .buffer(d->out.buffer, d->out.offset).arg(cl_int(d->out.dtype))
        .arg(cl_int(d->op)).arg(d->alpha).arg(cl_ulong(d->n))
        .run({size_t(d->n)}, {work_group(s, d->n)});
  });
}

// Ids are checked by the kernel, when it runs: a bad one is reported through the stream's status
// words at the next synchronize (its row of out is not written).
dshal_status embedding(dshal_stream stream, const dshal_embedding_desc* d) {
  return guarded([&] {
    if (d->tokens == 0 || d->hidden == 0) return DSHAL_OK;
    Stream* s = as_stream(stream);
    return Launch(s, "elementwise.cl", "embedding")
        .buffer(d->table.buffer, d->table.offset).arg(cl_int(d->table.dtype)).arg(cl_ulong(d->table.ld))
        .buffer(d->ids)
        .buffer(d->out.buffer, d->out.offset).arg(cl_int(d->out.dtype)).arg(cl_ulong(d->out.ld))
        .arg(cl_ulong(d->hidden)).arg(cl_ulong(d->tokens)).arg(cl_ulong(d->vocab)).status()
        .run({size_t(d->hidden), size_t(d->tokens)}, {work_group(s, d->hidden), 1});
  });
}

}  // namespace

void fill_elementwise_slots(dshal_adapter_table* t) {
  t->elementwise = elementwise;
  t->embedding = embedding;
}

}  // namespace dshal::opencl
