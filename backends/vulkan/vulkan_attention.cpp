// vulkan attention (MLA naive and absorbed): one shader, shaders/attention.comp; this file sizes its
// tiles (rows per workgroup, output column ranges) and passes the dimensions and dtypes as
// specialization constants, which leaves room for the four views' offsets and strides in the
// 128 bytes of push constants.
#include <algorithm>
#include <string>

#include "vulkan_ops.hpp"

namespace dshal::vulkan {
namespace {

constexpr uint64_t kMaxRows = 8;     // rows per workgroup (R): K and V reads shared by that many rows
constexpr uint64_t kKeys = 64;       // KEYS in attention.comp: keys per block = invocations
constexpr uint64_t kMaxColumnsPerInvocation = 8;  // CPI: a workgroup's output columns live in registers

struct AttentionPush {
  uint32_t addr[8];  // Q, K, V, out addresses, filled by dispatch()
  uint32_t q_off, q_ts, q_hs;
  uint32_t k_off, k_ts, k_hs;
  uint32_t v_off, v_ts, v_hs;
  uint32_t o_off, o_ts, o_hs;
  uint32_t q_len, kv_len, group_heads, causal, q_offset;
  float scale;
  uint32_t item_base, tiles;
};
static_assert(sizeof(AttentionPush) == 112, "matches shaders/attention.comp");


// The operand a view spans over tokens x heads x width (hal's span, as in hal/src/operands.cpp).
Bound bind_view(Stream* s, const dshal_attention_view& v, uint64_t tokens, uint64_t heads, uint64_t width) {
  const uint64_t elements = (tokens - 1) * v.token_stride + (heads - 1) * v.head_stride + width;
  return bind(s, v.buffer, v.offset, elements * elem_bytes(v.dtype));
}

dshal_status attention(dshal_stream stream, const dshal_attention_desc* d) {
  return guarded([&] {
    if (d->q_len == 0) return DSHAL_OK;  // hal listed no operand: the handles are untranslated
    Stream* s = as_stream(stream);
    const VkPhysicalDeviceLimits& lim = s->device->info->props.limits;
    const uint64_t group_heads = d->heads / d->kv_heads, rows = d->q_len * group_heads;
    const uint64_t cpi = std::min(kMaxColumnsPerInvocation, (d->v_dim + 63) / 64);
    const uint64_t ranges = (d->v_dim + 64 * cpi - 1) / (64 * cpi);

    // Fewer rows per tile while half of them would hold every row of a group, then while the
    // tile's queries and scores do not fit in shared memory.
    uint64_t r = kMaxRows;
    while (r > 1 && r / 2 >= rows) r /= 2;
    const auto shared_bytes = [&](uint64_t r) { return 4 * r * (d->qk_dim + kKeys + 3); };
    while (r > 1 && shared_bytes(r) > lim.maxComputeSharedMemorySize) r /= 2;
    if (d->qk_dim >= lim.maxComputeSharedMemorySize || shared_bytes(r) > lim.maxComputeSharedMemorySize)
      return fail(DSHAL_ERROR_UNSUPPORTED, "attention: qk_dim = " + std::to_string(d->qk_dim) + " needs more than the " +
                                               std::to_string(lim.maxComputeSharedMemorySize) + " bytes of shared memory");
    const uint64_t tiles = (rows + r - 1) / r, items = d->kv_heads * tiles * ranges;

    const Bound q = bind_view(s, d->q, d->q_len, d->heads, d->qk_dim);
    const Bound k = bind_view(s, d->k, d->kv_len, d->kv_heads, d->qk_dim);
    const Bound v = bind_view(s, d->v, d->kv_len, d->kv_heads, d->v_dim);
    const Bound o = bind_view(s, d->out, d->q_len, d->heads, d->v_dim);
    // The shader indexes in 32 bits: byte addresses within each operand, rows, keys, workgroups.
    for (const Bound* b : {&q, &k, &v, &o})
      if (b->binding.range > UINT32_MAX)
        return fail(DSHAL_ERROR_UNSUPPORTED, "attention: an operand spans " + std::to_string(b->binding.range) +
                                                 " bytes, more than 32-bit addressing reaches");
    if (rows > UINT32_MAX || d->kv_len > UINT32_MAX || items > UINT32_MAX)
      return fail(DSHAL_ERROR_UNSUPPORTED, "attention: q_len * heads, kv_len or the workgroup count exceeds 2^32 - 1");

    // Causal masking with q_offset >= kv_len masks nothing: sent as not causal, so q_offset fits.
    const bool causal = d->causal && d->q_offset < d->kv_len;
    AttentionPush push{{},
                       q.offset, uint32_t(d->q.token_stride), uint32_t(d->q.head_stride),
                       k.offset, uint32_t(d->k.token_stride), uint32_t(d->k.head_stride),
                       v.offset, uint32_t(d->v.token_stride), uint32_t(d->v.head_stride),
                       o.offset, uint32_t(d->out.token_stride), uint32_t(d->out.head_stride),
                       uint32_t(d->q_len), uint32_t(d->kv_len), uint32_t(group_heads), causal ? 1u : 0u,
                       causal ? uint32_t(d->q_offset) : 0u, d->scale, 0, uint32_t(tiles)};
    const std::vector<uint32_t> spec = {uint32_t(r), uint32_t(d->qk_dim), uint32_t(d->v_dim), uint32_t(cpi),
                                        uint32_t(d->q.dtype), uint32_t(d->k.dtype), uint32_t(d->v.dtype),
                                        uint32_t(d->out.dtype)};
    std::lock_guard lock(s->m);
    const uint32_t max_x = lim.maxComputeWorkGroupCount[0];
    for (uint64_t base = 0; base < items; base += max_x) {
      push.item_base = uint32_t(base);
      const uint32_t gx = uint32_t(std::min<uint64_t>(max_x, items - base));
      if (dshal_status st = dispatch(s, {"attention", {q.binding, k.binding, v.binding, o.binding}, &push, sizeof(push),
                                         {gx, 1, 1}, spec});
          st != DSHAL_OK)
        return st;
    }
    return DSHAL_OK;
  });
}

}  // namespace

void fill_attention_slots(dshal_adapter_table* t) { t->attention = attention; }

}  // namespace dshal::vulkan
