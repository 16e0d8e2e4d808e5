// vulkan rms_norm, softmax (one workgroup per row: shaders/rms_norm.comp, softmax.comp), silu_mul
// (one invocation per element) and rope (one workgroup per head of a token: shaders/rope.comp, which
// reports bad positions through the stream's status words). Each returns at once for an empty
// shape: hal then lists no operand and the handles are not the backend's.
#include "vulkan_grid.hpp"
#include "vulkan_ops.hpp"

namespace dshal::vulkan {
namespace {

struct RmsNormPush {
  uint32_t addr[6];
  uint32_t rows, cols;
  uint32_t x_off, x_dt, ldx;
  uint32_t w_off, w_dt;
  uint32_t o_off, o_dt, ldo;
  float eps;
};
static_assert(sizeof(RmsNormPush) == 68, "matches shaders/rms_norm.comp");

struct SoftmaxPush {
  uint32_t addr[4];
  uint32_t rows, cols;
  uint32_t x_off, x_dt, ldx;
  uint32_t o_off, o_dt, ldo;
  float scale;
  uint32_t causal, row_period, causal_offset;
};
static_assert(sizeof(SoftmaxPush) == 64, "matches shaders/softmax.comp");

struct SiluMulPush {
  uint32_t addr[6];
  uint32_t g_off, g_dt, ldg;
  uint32_t u_off, u_dt, ldu;
  uint32_t o_off, o_dt, ldo;
  uint32_t cols, total;
};
static_assert(sizeof(SiluMulPush) == 68, "matches shaders/silu_mul.comp");

struct RopePush {
  uint32_t addr[10];
  uint32_t x_off, dt, token_stride, head_stride;
  uint32_t pos_off, cos_off, sin_off;
  uint32_t half_dim, heads, tokens, max_position;
};
static_assert(sizeof(RopePush) == 84, "matches shaders/rope.comp");

constexpr uint32_t kElementGroup = 256;  // invocations per workgroup of the one-per-element shaders

// Row and element counts the shaders index with a uint.
dshal_status too_large(const char* op, uint64_t count) {
  return fail(DSHAL_ERROR_UNSUPPORTED, std::string(op) + ": " + std::to_string(count) + " rows or elements exceed 2^32 - 1");
}

dshal_status rms_norm(dshal_stream stream, const dshal_rms_norm_desc* d) {
  return guarded([&] {
    if (d->rows == 0 || d->cols == 0) return DSHAL_OK;
    if (d->rows > UINT32_MAX) return too_large("rms_norm", d->rows);
    Stream* s = as_stream(stream);
    const Bound x = bind_tensor(s, d->x, d->rows, d->cols), w = bind_tensor(s, d->weight, 1, d->cols),
                o = bind_tensor(s, d->out, d->rows, d->cols);
    const RmsNormPush push{{}, uint32_t(d->rows), uint32_t(d->cols),
                           x.offset, uint32_t(d->x.dtype), stride32(d->x.ld, d->rows),
                           w.offset, uint32_t(d->weight.dtype),
                           o.offset, uint32_t(d->out.dtype), stride32(d->out.ld, d->rows), d->eps};
    std::lock_guard lock(s->m);
    return dispatch_flat(s, "rms_norm", {x.binding, w.binding, o.binding}, &push, sizeof(push), d->rows,
                         group_width(d->cols));
  });
}

dshal_status softmax(dshal_stream stream, const dshal_softmax_desc* d) {
  return guarded([&] {
    if (d->rows == 0 || d->cols == 0) return DSHAL_OK;
    if (d->rows > UINT32_MAX) return too_large("softmax", d->rows);
    Stream* s = as_stream(stream);
    const Bound x = bind_tensor(s, d->x, d->rows, d->cols), o = bind_tensor(s, d->out, d->rows, d->cols);
    // r % row_period with r < rows is the same for any row_period >= rows; hal rejects 0 with causal.
    const uint64_t period = d->row_period == 0 ? 1 : std::min(d->row_period, d->rows);
    const SoftmaxPush push{{}, uint32_t(d->rows), uint32_t(d->cols),
                           x.offset, uint32_t(d->x.dtype), stride32(d->x.ld, d->rows),
                           o.offset, uint32_t(d->out.dtype), stride32(d->out.ld, d->rows),
                           d->scale, d->causal, uint32_t(period), uint32_t(std::min(d->causal_offset, d->cols))};
    std::lock_guard lock(s->m);
    return dispatch_flat(s, "softmax", {x.binding, o.binding}, &push, sizeof(push), d->rows, group_width(d->cols));
  });
}

dshal_status silu_mul(dshal_stream stream, const dshal_silu_mul_desc* d) {
  return guarded([&] {
    if (d->rows == 0 || d->cols == 0) return DSHAL_OK;
    const uint64_t total = d->rows * d->cols;  // hal checked the operands' spans
    if (total > UINT32_MAX) return too_large("silu_mul", total);
    Stream* s = as_stream(stream);
    const Bound g = bind_tensor(s, d->gate, d->rows, d->cols), u = bind_tensor(s, d->up, d->rows, d->cols),
                o = bind_tensor(s, d->out, d->rows, d->cols);
    const SiluMulPush push{{},
                           g.offset, uint32_t(d->gate.dtype), stride32(d->gate.ld, d->rows),
                           u.offset, uint32_t(d->up.dtype), stride32(d->up.ld, d->rows),
                           o.offset, uint32_t(d->out.dtype), stride32(d->out.ld, d->rows),
                           uint32_t(d->cols), uint32_t(total)};
    std::lock_guard lock(s->m);
    return dispatch_flat(s, "silu_mul", {g.binding, u.binding, o.binding}, &push, sizeof(push),
                         (total + kElementGroup - 1) / kElementGroup, kElementGroup);
  });
}

// Positions are checked by the shader, when it runs: a bad one is reported through the stream's
// status words at the next synchronize (its token is not rotated).
dshal_status rope(dshal_stream stream, const dshal_rope_desc* d) {
  return guarded([&] {
    if (d->tokens == 0 || d->heads == 0 || d->dim == 0) return DSHAL_OK;
    const uint64_t rows = d->tokens * d->heads, half = d->dim / 2;  // hal checked the span of x
    if (rows > UINT32_MAX) return too_large("rope", rows);
    Stream* s = as_stream(stream);
    const uint64_t esize = elem_bytes(d->dtype);
    const Bound x = bind(s, d->buffer, d->offset,
                         ((d->tokens - 1) * d->token_stride + (d->heads - 1) * d->head_stride + d->dim) * esize);
    const Bound pos = bind(s, d->positions.buffer, d->positions.offset, d->tokens * 4);
    // The tables' bytes fit 32 bits (dispatch_flat checks), so max_position does too.
    const Bound cos = bind(s, d->cos_table.buffer, d->cos_table.offset, d->max_position * half * 4);
    const Bound sin = bind(s, d->sin_table.buffer, d->sin_table.offset, d->max_position * half * 4);
    const RopePush push{{},
                        x.offset, uint32_t(d->dtype), stride32(d->token_stride, d->tokens), stride32(d->head_stride, d->heads),
                        pos.offset, cos.offset, sin.offset,
                        uint32_t(half), uint32_t(d->heads), uint32_t(d->tokens), uint32_t(d->max_position)};
    std::lock_guard lock(s->m);
    return dispatch_flat(s, "rope", {x.binding, pos.binding, cos.binding, sin.binding, status_operand(s)}, &push,
                         sizeof(push), rows, group_width(half, 64));
  });
}

}  // namespace

void fill_norm_act_slots(dshal_adapter_table* t) {
  t->rms_norm = rms_norm;
  t->rope = rope;
  t->softmax = softmax;
  t->silu_mul = silu_mul;
}

}  // namespace dshal::vulkan
