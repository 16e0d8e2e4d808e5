// opencl attention (MLA naive and absorbed): one kernel, attention.cl; this file sizes its tiles.
#include <algorithm>

#include "opencl.hpp"
#include "opencl_launch.hpp"

namespace dshal::opencl {
namespace {

constexpr uint64_t kKeys = 32;      // keys per block (B), a multiple of VW: scores of a block stay in local memory
constexpr uint64_t kMaxRows = 16;   // rows per work-group (R): K and V reads shared by that many rows
constexpr uint64_t kMinRows = 4;    // RT in attention.cl: R is a multiple of it
constexpr uint64_t kColumns = 16;   // VW in attention.cl: column ranges are multiples of it
constexpr size_t kWorkItems = 128;

Launch& view(Launch& l, const dshal_attention_view& v) {
  return l.buffer(v.buffer, v.offset).arg(cl_int(v.dtype)).arg(cl_ulong(v.token_stride)).arg(cl_ulong(v.head_stride));
}

dshal_status attention(dshal_stream stream, const dshal_attention_desc* d) {
  return guarded([&] {
    if (d->q_len == 0) return DSHAL_OK;  // hal listed no operand: the handles are untranslated
    Stream* s = as_stream(stream);
    const DeviceInfo& info = *s->device->info;
    const uint64_t group_heads = d->heads / d->kv_heads, rows = d->q_len * group_heads;
    const auto local_bytes = [&](uint64_t r, uint64_t cw) { return 4 * r * (d->qk_dim + cw + kKeys + 3); };

    // Fewer rows per tile while half of them would hold every row of a group, or while the tiles would
    // not give every compute unit two work-groups (decode with few heads); fewer again, then column
    // ranges of the output, while local memory is short.
    uint64_t r = kMaxRows;
    while (r > kMinRows && (r / 2 >= rows || d->kv_heads * ceil_div(rows, r) < 2 * uint64_t(info.compute_units))) r /= 2;
    uint64_t cw = std::min<uint64_t>(d->v_dim, info.local_mem);  // bounded, so local_bytes cannot overflow
    while (r > kMinRows && local_bytes(r, cw) > info.local_mem) r /= 2;
    while (cw > kColumns && local_bytes(r, cw) > info.local_mem) cw = ceil_div(cw / 2, kColumns) * kColumns;
    if (d->qk_dim >= info.local_mem / 4 || local_bytes(r, cw) > info.local_mem)
      return fail(DSHAL_ERROR_UNSUPPORTED, "attention: qk_dim = " + std::to_string(d->qk_dim) + " needs more than the " +
                                               std::to_string(info.local_mem) + " bytes of local memory of " + info.name);

    const size_t items = std::min(kWorkItems, info.max_work_group);
    Launch l(s, "attention.cl", "attention");
    view(view(view(view(l, d->q), d->k), d->v), d->out)
        .arg(cl_ulong(d->q_len)).arg(cl_ulong(d->kv_len)).arg(cl_ulong(group_heads))
        .arg(cl_uint(d->qk_dim)).arg(cl_ulong(d->v_dim)).arg(d->scale).arg(cl_int(d->causal)).arg(cl_ulong(d->q_offset))
        .arg(cl_uint(r)).arg(cl_uint(kKeys)).arg(cl_uint(cw))
        .local(4 * r * d->qk_dim).local(4 * r * cw).local(4 * r * kKeys).local(4 * 3 * r);
    return l.run({items, size_t(ceil_div(rows, r)), size_t(d->kv_heads * ceil_div(d->v_dim, cw))}, {items, 1, 1});
  });
}

}  // namespace

void fill_attention_slots(dshal_adapter_table* t) { t->attention = attention; }

}  // namespace dshal::opencl
