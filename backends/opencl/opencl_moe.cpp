// opencl moe_route, moe_permute and moe_unpermute (kernels/moe.cl).
#include <algorithm>

#include "opencl_launch.hpp"
#include "opencl_ops.hpp"

namespace dshal::opencl {
namespace {

dshal_status moe_route(dshal_stream stream, const dshal_moe_route_desc* d) {
  return guarded([&] {
    if (d->tokens == 0) return DSHAL_OK;  // hal lists no operand
    Stream* s = as_stream(stream);
    // Plain greedy (dshal_moe_route_groups() == 1) runs as one group, kept.
    const uint64_t groups = dshal_moe_route_groups(d), topk_group = groups > 1 ? d->topk_group : 1;
    const size_t wg = work_group(s, d->experts);
    const uint64_t local_bytes = (2 * d->experts + groups + d->top_k + wg) * 4;
    if (local_bytes > s->device->info->local_mem)
      return fail(DSHAL_ERROR_UNSUPPORTED, "moe_route: " + std::to_string(d->experts) + " experts need " +
                                               std::to_string(local_bytes) + " bytes of local memory; " +
                                               s->device->info->name + " has " +
                                               std::to_string(s->device->info->local_mem));
    return Launch(s, "moe.cl", "moe_route")
        .buffer(d->logits.buffer, d->logits.offset).arg(cl_ulong(d->logits.ld))
        .buffer(d->bias).arg(cl_int(d->bias.buffer != nullptr))
        .buffer(d->topk_ids).buffer(d->topk_weights)
        .arg(cl_uint(d->experts)).arg(cl_uint(d->top_k)).arg(cl_int(d->scoring)).arg(cl_int(d->method))
        .arg(cl_uint(groups)).arg(cl_uint(topk_group)).arg(cl_int(d->norm_topk_prob)).arg(d->routed_scaling_factor)
        .local(d->experts * 4).local(d->experts * 4).local(groups * 4).local(d->top_k * 4).local(wg * 4)
        .run({size_t(d->tokens) * wg}, {wg});
  });
}

// Two launches: the index (expert_offsets and perm) in one work-group, then the row gather.
dshal_status moe_permute(dshal_stream stream, const dshal_moe_permute_desc* d) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    // expert_offsets is always listed; topk_ids and perm only with tokens, x and out only with hidden too.
    const uint64_t slots = d->tokens * d->top_k;
    const size_t wg = work_group(s, d->experts);
    const dshal_status st = Launch(s, "moe.cl", "moe_permute_index")
                                .buffer(slots ? d->topk_ids.buffer : nullptr, d->topk_ids.offset)
                                .buffer(d->expert_offsets)
                                .buffer(slots ? d->perm.buffer : nullptr, d->perm.offset)
                                .arg(cl_ulong(d->experts)).arg(cl_ulong(slots))
                                .run({wg}, {wg});
    if (st != DSHAL_OK || slots == 0 || d->hidden == 0) return st;
    return Launch(s, "moe.cl", "moe_permute_gather")
        .buffer(d->x.buffer, d->x.offset).arg(cl_ulong(d->x.ld))
        .buffer(d->out.buffer, d->out.offset).arg(cl_ulong(d->out.ld)).arg(cl_int(d->x.dtype))
        .buffer(d->expert_offsets).buffer(d->perm)
        .arg(cl_ulong(d->experts)).arg(cl_ulong(d->top_k)).arg(cl_ulong(d->hidden)).arg(cl_ulong(slots))
        .run({size_t(d->hidden), size_t(slots)}, {work_group(s, d->hidden), 1});
  });
}

dshal_status moe_unpermute(dshal_stream stream, const dshal_moe_unpermute_desc* d) {
  return guarded([&] {
    if (d->tokens == 0 || d->hidden == 0) return DSHAL_OK;  // hal lists no operand
    Stream* s = as_stream(stream);
    // Each work-group scans all of perm for its tokens' rows: blocks of 16 tokens and 2048 columns
    // keep that scan small next to the sums, and give a one-token decode step several groups.
    const uint64_t local_mem = s->device->info->local_mem;
    const uint64_t block = std::min<uint64_t>({16, d->tokens, local_mem / (4 * d->top_k)});
    if (block == 0)
      return fail(DSHAL_ERROR_UNSUPPORTED, "moe_unpermute: top_k = " + std::to_string(d->top_k) +
                                               " rows of one token do not fit the device's local memory");
    const uint64_t chunk = std::min<uint64_t>(2048, d->hidden);
    const size_t wg = work_group(s, block * chunk);
    return Launch(s, "moe.cl", "moe_unpermute")
        .buffer(d->y.buffer, d->y.offset).arg(cl_int(d->y.dtype)).arg(cl_ulong(d->y.ld))
        .buffer(d->perm).buffer(d->weights)
        .buffer(d->out.buffer, d->out.offset).arg(cl_int(d->out.dtype)).arg(cl_ulong(d->out.ld))
        .arg(cl_ulong(d->tokens)).arg(cl_ulong(d->top_k)).arg(cl_ulong(d->hidden)).arg(cl_int(d->accumulate))
        .arg(cl_ulong(block)).arg(cl_ulong(chunk)).local(block * d->top_k * 4)
        .run({size_t(ceil_div(d->tokens, block)) * wg, size_t(ceil_div(d->hidden, chunk))}, {wg, 1});
  });
}

}  // namespace

void fill_moe_slots(dshal_adapter_table* t) {
  t->moe_route = moe_route;
  t->moe_permute = moe_permute;
  t->moe_unpermute = moe_unpermute;
}

}  // namespace dshal::opencl
