// opencl rms_norm, rope, softmax and silu_mul (kernels/norm_act.cl). Each returns at once for an
// empty shape: hal then lists no operand and the handles are not the backend's.
#include "opencl_launch.hpp"
#include "opencl_ops.hpp"

namespace dshal::opencl {
namespace {

dshal_status rms_norm(dshal_stream stream, const dshal_rms_norm_desc* d) {
  return guarded([&] {
    if (d->rows == 0 || d->cols == 0) return DSHAL_OK;
    Stream* s = as_stream(stream);
    const size_t wg = work_group(s, d->cols);
    return Launch(s, "norm_act.cl", "rms_norm")
        .buffer(d->x.buffer, d->x.offset).arg(cl_int(d->x.dtype)).arg(cl_ulong(d->x.ld))
        .buffer(d->weight.buffer, d->weight.offset).arg(cl_int(d->weight.dtype))
        .buffer(d->out.buffer, d->out.offset).arg(cl_int(d->out.dtype)).arg(cl_ulong(d->out.ld))
        .arg(cl_ulong(d->cols)).arg(d->eps).local(wg * sizeof(float))
        .run({size_t(d->rows) * wg}, {wg});
  });
}

dshal_status rope(dshal_stream stream, const dshal_rope_desc* d) {
  return guarded([&] {
    if (d->tokens == 0 || d->heads == 0 || d->dim == 0) return DSHAL_OK;
    Stream* s = as_stream(stream);
    const uint64_t half = d->dim / 2;
    return Launch(s, "norm_act.cl", "rope")
        .buffer(d->buffer, d->offset).arg(cl_int(d->dtype)).arg(cl_ulong(d->token_stride)).arg(cl_ulong(d->head_stride))
        .buffer(d->positions).buffer(d->cos_table).buffer(d->sin_table)
        .arg(cl_ulong(half)).arg(cl_ulong(d->heads)).arg(cl_ulong(d->tokens)).arg(cl_ulong(d->max_position)).status()
        .run({size_t(half), size_t(d->heads), size_t(d->tokens)}, {work_group(s, half), 1, 1});
  });
}

dshal_status softmax(dshal_stream stream, const dshal_softmax_desc* d) {
  return guarded([&] {
    if (d->rows == 0 || d->cols == 0) return DSHAL_OK;
    Stream* s = as_stream(stream);
    const size_t wg = work_group(s, d->cols);
    return Launch(s, "norm_act.cl", "softmax")
        .buffer(d->x.buffer, d->x.offset).arg(cl_int(d->x.dtype)).arg(cl_ulong(d->x.ld))
        .buffer(d->out.buffer, d->out.offset).arg(cl_int(d->out.dtype)).arg(cl_ulong(d->out.ld))
        .arg(cl_ulong(d->cols)).arg(d->scale).arg(cl_int(d->causal)).arg(cl_ulong(d->row_period))
        .arg(cl_ulong(d->causal_offset)).local(wg * sizeof(float))
        .run({size_t(d->rows) * wg}, {wg});
  });
}

dshal_status silu_mul(dshal_stream stream, const dshal_silu_mul_desc* d) {
  return guarded([&] {
    if (d->rows == 0 || d->cols == 0) return DSHAL_OK;
    Stream* s = as_stream(stream);
    return Launch(s, "norm_act.cl", "silu_mul")
        .buffer(d->gate.buffer, d->gate.offset).arg(cl_int(d->gate.dtype)).arg(cl_ulong(d->gate.ld))
        .buffer(d->up.buffer, d->up.offset).arg(cl_int(d->up.dtype)).arg(cl_ulong(d->up.ld))
        .buffer(d->out.buffer, d->out.offset).arg(cl_int(d->out.dtype)).arg(cl_ulong(d->out.ld))
        .arg(cl_ulong(d->cols)).arg(cl_ulong(d->rows))
        .run({size_t(d->cols), size_t(d->rows)}, {work_group(s, d->cols), 1});
  });
}

}  // namespace

void fill_norm_act_slots(dshal_adapter_table* t) {
  t->rms_norm = rms_norm;
  t->rope = rope;
  t->softmax = softmax;
  t->silu_mul = silu_mul;
}

}  // namespace dshal::opencl
