// vulkan elementwise (one invocation per element: shaders/elementwise.comp) and embedding (one
// workgroup per token: shaders/embedding.comp, which reports bad ids through the stream's status
// words). Each returns at once for an empty shape: hal then lists no operand and the handles are
// not the backend's.
#include "vulkan_grid.hpp"
#include "vulkan_ops.hpp"

namespace dshal::vulkan {
namespace {

struct ElementwisePush {
  uint32_t addr[6];
  uint32_t a_off, a_dt, b_off, b_dt, o_off, o_dt;
  uint32_t op;
  float alpha;
  uint32_t n;
};
static_assert(sizeof(ElementwisePush) == 60, "matches shaders/elementwise.comp");

struct EmbeddingPush {
  uint32_t addr[8];
  uint32_t t_off, t_dt, ldt;
  uint32_t ids_off;
  uint32_t o_off, o_dt, ldo;
  uint32_t hidden, tokens, vocab;
};
static_assert(sizeof(EmbeddingPush) == 72, "matches shaders/embedding.comp");

constexpr uint32_t kElementGroup = 256;  // invocations per workgroup of shaders/elementwise.comp

dshal_status elementwise(dshal_stream stream, const dshal_elementwise_desc* d) {
  return guarded([&] {
    if (d->n == 0) return DSHAL_OK;
    if (d->n > UINT32_MAX)
      return fail(DSHAL_ERROR_UNSUPPORTED, "elementwise: n = " + std::to_string(d->n) + " exceeds 2^32 - 1");
    Stream* s = as_stream(stream);
    // hal lists b only for ADD and MUL; SCALE and CAST bind a in its place (never read).
    const bool binary = d->op == DSHAL_ELEMENTWISE_ADD || d->op == DSHAL_ELEMENTWISE_MUL;
    const Bound a = bind(s, d->a.buffer, d->a.offset, d->n * elem_bytes(d->a.dtype));
    const Bound b = binary ? bind(s, d->b.buffer, d->b.offset, d->n * elem_bytes(d->b.dtype)) : a;
    const Bound o = bind(s, d->out.buffer, d->out.offset, d->n * elem_bytes(d->out.dtype));
    const ElementwisePush push{{},
                               a.offset, uint32_t(d->a.dtype), b.offset, uint32_t(binary ? d->b.dtype : d->a.dtype),
                               o.offset, uint32_t(d->out.dtype), uint32_t(d->op), d->alpha, uint32_t(d->n)};
    std::lock_guard lock(s->m);
    return dispatch_flat(s, "elementwise", {a.binding, b.binding, o.binding}, &push, sizeof(push),
                         (d->n + kElementGroup - 1) / kElementGroup, kElementGroup);
  });
}

// Ids are checked by the shader, when it runs: a bad one is reported through the stream's status
// words at the next synchronize (its row of out is not written).
dshal_status embedding(dshal_stream stream, const dshal_embedding_desc* d) {
  return guarded([&] {
    if (d->tokens == 0 || d->hidden == 0) return DSHAL_OK;
    if (d->tokens > UINT32_MAX)
      return fail(DSHAL_ERROR_UNSUPPORTED, "embedding: tokens = " + std::to_string(d->tokens) + " exceeds 2^32 - 1");
    Stream* s = as_stream(stream);
    const Bound table = bind_tensor(s, d->table, d->vocab, d->hidden), ids = bind(s, d->ids.buffer, d->ids.offset, d->tokens * 4),
                out = bind_tensor(s, d->out, d->tokens, d->hidden);
    // hal caps vocab at INT32_MAX; the table's ld fits 32 bits when more than one row is bound.
    const EmbeddingPush push{{},
                             table.offset, uint32_t(d->table.dtype), stride32(d->table.ld, d->vocab),
                             ids.offset,
                             out.offset, uint32_t(d->out.dtype), stride32(d->out.ld, d->tokens),
                             uint32_t(d->hidden), uint32_t(d->tokens), uint32_t(d->vocab)};
    std::lock_guard lock(s->m);
    return dispatch_flat(s, "embedding", {table.binding, ids.binding, out.binding, status_operand(s)}, &push,
                         sizeof(push), d->tokens, group_width(d->hidden));
  });
}

}  // namespace

void fill_elementwise_slots(dshal_adapter_table* t) {
  t->elementwise = elementwise;
  t->embedding = embedding;
}

}  // namespace dshal::vulkan
