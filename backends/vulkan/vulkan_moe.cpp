// vulkan moe_route (shaders/moe_route.comp), moe_permute (shaders/moe_permute_index.comp, then
// shaders/moe_permute_gather.comp) and moe_unpermute (shaders/moe_unpermute.comp).
#include <algorithm>

#include "vulkan_ops.hpp"

namespace dshal::vulkan {
namespace {

constexpr uint32_t kGroup = 64;  // local_size_x of the moe shaders

struct RoutePush {
  uint32_t addr[8];  // logits, bias, topk_ids, topk_weights
  uint32_t logits_off, ldl, bias_off, has_bias;
  uint32_t ids_off, weights_off, token_base, experts;
  uint32_t top_k, scoring, method, groups;
  uint32_t topk_group, norm_topk_prob;
  float scaling;
};
static_assert(sizeof(RoutePush) == 92, "matches shaders/moe_route.comp");

struct PermuteIndexPush {
  uint32_t addr[6];  // topk_ids, expert_offsets, perm
  uint32_t ids_off, offsets_off, perm_off, experts, slots;
};
static_assert(sizeof(PermuteIndexPush) == 44, "matches shaders/moe_permute_index.comp");

struct PermuteGatherPush {
  uint32_t addr[8];  // x, out, expert_offsets, perm
  uint32_t x_off, ldx, out_off, ldo;
  uint32_t dt, offsets_off, perm_off, experts;
  uint32_t top_k, hidden, row_base;
};
static_assert(sizeof(PermuteGatherPush) == 76, "matches shaders/moe_permute_gather.comp");

struct UnpermutePush {
  uint32_t addr[8];  // y, perm, weights, out
  uint32_t y_off, y_dt, ldy, perm_off;
  uint32_t weights_off, out_off, out_dt, ldo;
  uint32_t tokens, top_k, hidden, accumulate;
  uint32_t block, chunk, block_base;
};
static_assert(sizeof(UnpermutePush) == 92, "matches shaders/moe_unpermute.comp");
constexpr uint64_t kUnpermuteRowCap = 1024;  // ROW_CAP of shaders/moe_unpermute.comp

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
uint32_t max_groups(Stream* s) { return s->device->info->props.limits.maxComputeWorkGroupCount[0]; }

// The operand of a row-major [rows][cols] tensor.
Bound bind_rows(Stream* s, const dshal_tensor& x, uint64_t rows, uint64_t cols) {
  return bind(s, x.buffer, x.offset, ((rows - 1) * x.ld + cols) * elem_bytes(x.dtype));
}

dshal_status moe_route(dshal_stream stream, const dshal_moe_route_desc* d) {
  return guarded([&] {
    if (d->tokens == 0) return DSHAL_OK;  // hal lists no operand
    Stream* s = as_stream(stream);
    // Plain greedy (dshal_moe_route_groups() == 1) runs as one group, kept.
    const uint64_t groups = dshal_moe_route_groups(d), topk_group = groups > 1 ? d->topk_group : 1;
    // Shared arrays of CAP experts (a power of two, to keep the pipeline variants few): score,
    // choice, group scores and picks, plus the reduction scratch.
    uint64_t cap = kGroup;
    while (cap < d->experts) cap *= 2;
    const uint64_t shared = 16 * cap + 4 * kGroup, limit = s->device->info->props.limits.maxComputeSharedMemorySize;
    if (shared > limit)
      return fail(DSHAL_ERROR_UNSUPPORTED, "moe_route: " + std::to_string(d->experts) + " experts need " +
                                               std::to_string(shared) + " bytes of shared memory; the device has " +
                                               std::to_string(limit));
    const Bound logits = bind_rows(s, d->logits, d->tokens, d->experts);
    const bool has_bias = d->bias.buffer != nullptr;
    const Bound bias = has_bias ? bind(s, d->bias.buffer, d->bias.offset, 4 * d->experts) : logits;
    const Bound ids = bind(s, d->topk_ids.buffer, d->topk_ids.offset, 4 * d->tokens * d->top_k);
    const Bound weights = bind(s, d->topk_weights.buffer, d->topk_weights.offset, 4 * d->tokens * d->top_k);
    RoutePush push{{}, logits.offset, uint32_t(d->logits.ld), bias.offset, has_bias,
                   ids.offset, weights.offset, 0, uint32_t(d->experts),
                   uint32_t(d->top_k), uint32_t(d->scoring), uint32_t(d->method), uint32_t(groups),
                   uint32_t(topk_group), d->norm_topk_prob, d->routed_scaling_factor};
    std::lock_guard lock(s->m);
    for (uint64_t t0 = 0; t0 < d->tokens; t0 += max_groups(s)) {
      push.token_base = uint32_t(t0);
      const uint32_t n = uint32_t(std::min<uint64_t>(max_groups(s), d->tokens - t0));
      if (dshal_status st = dispatch(s, {"moe_route", {logits.binding, bias.binding, ids.binding, weights.binding},
                                         &push, sizeof(push), {n, 1, 1}, {uint32_t(cap)}});
          st != DSHAL_OK)
        return st;
    }
    return DSHAL_OK;
  });
}

// Two dispatches: the index (expert_offsets and perm), then the row gather.
dshal_status moe_permute(dshal_stream stream, const dshal_moe_permute_desc* d) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    // expert_offsets is always listed; topk_ids and perm only with tokens, x and out only with hidden too.
    const uint64_t slots = d->tokens * d->top_k;
    const Bound offsets = bind(s, d->expert_offsets.buffer, d->expert_offsets.offset, 4 * (d->experts + 1));
    const Bound ids = slots ? bind(s, d->topk_ids.buffer, d->topk_ids.offset, 4 * slots) : offsets;
    const Bound perm = slots ? bind(s, d->perm.buffer, d->perm.offset, 4 * slots) : offsets;
    const PermuteIndexPush index{{}, ids.offset, offsets.offset, perm.offset, uint32_t(d->experts), uint32_t(slots)};
    const uint32_t index_groups = uint32_t(std::min<uint64_t>(max_groups(s), ceil_div(d->experts, kGroup)));
    std::lock_guard lock(s->m);
    if (dshal_status st = dispatch(s, {"moe_permute_index", {ids.binding, offsets.binding, perm.binding}, &index,
                                       sizeof(index), {index_groups, 1, 1}});
        st != DSHAL_OK || slots == 0 || d->hidden == 0)
      return st;
    const Bound x = bind_rows(s, d->x, d->tokens, d->hidden);
    const Bound out = bind_rows(s, d->out, slots, d->hidden);
    // Units of a row: its elements (f32) or the uint words its 16-bit elements span.
    const uint64_t units = d->x.dtype == DSHAL_DTYPE_F32 ? d->hidden : d->hidden / 2 + 1;
    if (ceil_div(units, kGroup) > max_groups(s))
      return fail(DSHAL_ERROR_UNSUPPORTED, "moe_permute: hidden = " + std::to_string(d->hidden) + " is too wide");
    PermuteGatherPush gather{{}, x.offset, uint32_t(d->x.ld), out.offset, uint32_t(d->out.ld),
                             uint32_t(d->x.dtype), offsets.offset, perm.offset, uint32_t(d->experts),
                             uint32_t(d->top_k), uint32_t(d->hidden), 0};
    const uint32_t max_y = s->device->info->props.limits.maxComputeWorkGroupCount[1];
    for (uint64_t r0 = 0; r0 < slots; r0 += max_y) {
      gather.row_base = uint32_t(r0);
      const uint32_t rows = uint32_t(std::min<uint64_t>(max_y, slots - r0));
      if (dshal_status st = dispatch(s, {"moe_permute_gather", {x.binding, out.binding, offsets.binding, perm.binding},
                                         &gather, sizeof(gather), {uint32_t(ceil_div(units, kGroup)), rows, 1}});
          st != DSHAL_OK)
        return st;
    }
    return DSHAL_OK;
  });
}

dshal_status moe_unpermute(dshal_stream stream, const dshal_moe_unpermute_desc* d) {
  return guarded([&] {
    if (d->tokens == 0 || d->hidden == 0) return DSHAL_OK;  // hal lists no operand
    Stream* s = as_stream(stream);
    // Each workgroup scans all of perm for its tokens' rows: blocks of 16 tokens and 2048 columns
    // keep that scan small next to the sums, and give a one-token decode step several groups.
    const uint64_t block = std::min<uint64_t>({16, d->tokens, kUnpermuteRowCap / d->top_k});
    if (block == 0)
      return fail(DSHAL_ERROR_UNSUPPORTED, "moe_unpermute: top_k = " + std::to_string(d->top_k) + " exceeds " +
                                               std::to_string(kUnpermuteRowCap));
    const uint64_t chunk = std::min<uint64_t>(2048, d->hidden), slots = d->tokens * d->top_k;
    const Bound y = bind_rows(s, d->y, slots, d->hidden);
    const Bound perm = bind(s, d->perm.buffer, d->perm.offset, 4 * slots);
    const Bound weights = bind(s, d->weights.buffer, d->weights.offset, 4 * slots);
    const Bound out = bind_rows(s, d->out, d->tokens, d->hidden);
    UnpermutePush push{{}, y.offset, uint32_t(d->y.dtype), uint32_t(d->y.ld), perm.offset,
                       weights.offset, out.offset, uint32_t(d->out.dtype), uint32_t(d->out.ld),
                       uint32_t(d->tokens), uint32_t(d->top_k), uint32_t(d->hidden), d->accumulate,
                       uint32_t(block), uint32_t(chunk), 0};
    const uint64_t blocks = ceil_div(d->tokens, block), chunks = ceil_div(d->hidden, chunk);
    std::lock_guard lock(s->m);
    for (uint64_t b0 = 0; b0 < blocks; b0 += max_groups(s)) {
      push.block_base = uint32_t(b0);
      const uint32_t n = uint32_t(std::min<uint64_t>(max_groups(s), blocks - b0));
      if (dshal_status st = dispatch(s, {"moe_unpermute", {y.binding, perm.binding, weights.binding, out.binding},
                                         &push, sizeof(push), {n, uint32_t(chunks), 1}});
          st != DSHAL_OK)
        return st;
    }
    return DSHAL_OK;
  });
}

}  // namespace

void fill_moe_slots(dshal_adapter_table* t) {
  t->moe_route = moe_route;
  t->moe_permute = moe_permute;
  t->moe_unpermute = moe_unpermute;
}

}  // namespace dshal::vulkan
