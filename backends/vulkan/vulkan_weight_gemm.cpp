// vulkan weight GEMMs: gemm_quant (shaders/gemm_quant.comp), grouped_gemm (shaders/gemm_grouped.comp;
// the device-resident offsets are checked by the shader, which reports DSHAL_STATUS_GROUP_OFFSETS
// and writes nothing) and prepack_weight. Both GEMMs run the register tile of
// shaders/weight_tile.glsl, specialized per weight dtype, dequantizing FP8 / INT4 as it reads.
#include <algorithm>
#include <string>

#include "vulkan_ops.hpp"

namespace dshal::vulkan {
namespace {

// The tile of shaders/weight_tile.glsl: up to kMaxTileRows (TILE_ROWS) x kTileCols (TILE_WIDTH)
// outputs per workgroup.
constexpr uint32_t kMaxTileRows = 8;
constexpr uint32_t kTileCols = 256;

struct QuantPush {
  uint32_t addr[8];  // A, W, scales, C; filled by dispatch()
  uint32_t m, n, k, row_base;
  uint32_t a_off, a_dt, lda;
  uint32_t w_off, w_row_bytes, s_off, bn, bk;
  uint32_t c_off, c_dt, ldc;
  float alpha, beta;
};
static_assert(sizeof(QuantPush) == 100, "matches shaders/gemm_quant.comp");

struct GroupedPush {
  uint32_t addr[12];  // A, W, scales, offsets, C, status words; filled by dispatch()
  uint32_t m, n, k, groups, group_base;
  uint32_t a_off, a_dt, lda;
  uint32_t w_off, w_row_bytes, w_gs, s_off, s_gs, bn, bk;
  uint32_t o_off;
  uint32_t c_off, c_dt, ldc;
};
static_assert(sizeof(GroupedPush) == 124, "matches shaders/gemm_grouped.comp");

bool quantized(dshal_dtype t) { return t == DSHAL_DTYPE_FP8_E4M3 || t == DSHAL_DTYPE_INT4; }

// The weight's layout as the shaders walk it, and the byte ranges hal lists for it
// (operands.cpp's list_weight).
struct WeightLayout {
  uint64_t row_bytes;    // between consecutive rows of one group
  uint64_t w_bytes;      // all groups' weights
  uint64_t s_bytes;      // all groups' scales (quantized types)
  uint32_t bn, bk;       // scale blocks; 1 x 1 for plain types (never read)
};

WeightLayout weight_layout(const dshal_weight& w, uint64_t groups, uint64_t n, uint64_t k, uint64_t w_gs,
                           uint64_t s_gs) {
  WeightLayout l{};
  if (!quantized(w.dtype)) {
    l.row_bytes = w.ld * elem_bytes(w.dtype);
    l.w_bytes = (groups - 1) * w_gs + ((n - 1) * w.ld + k) * elem_bytes(w.dtype);
    l.bn = l.bk = 1;
    return l;
  }
  l.row_bytes = w.dtype == DSHAL_DTYPE_INT4 ? k / 2 : k;
  l.w_bytes = (groups - 1) * w_gs + n * l.row_bytes;
  l.s_bytes = (groups - 1) * s_gs + ((n + w.block_n - 1) / w.block_n) * ((k + w.block_k - 1) / w.block_k) * 4;
  l.bn = w.block_n;
  l.bk = w.block_k;
  return l;
}

// The rows of a tile for about `rows` rows per tile: the next power of two, at most kMaxTileRows.
uint32_t tile_rows(uint64_t rows) {
  uint32_t r = 1;
  while (r < rows && r < kMaxTileRows) r *= 2;
  return r;
}

// Specialization constants of weight_tile.glsl: the weight dtype; whether every run of 8 elements
// at a multiple of 8 along K is whole uint words (rows on word boundaries, scale blocks in runs of
// 8), which lets the shader read words instead of single elements; the rows of a tile.
std::vector<uint32_t> weight_spec(const dshal_weight& w, const WeightLayout& l, uint32_t w_off, uint64_t groups,
                                  uint64_t w_gs, uint32_t rows) {
  const bool words = w_off % 4 == 0 && l.row_bytes % 4 == 0 && (groups == 1 || w_gs % 4 == 0) &&
                     (!quantized(w.dtype) || l.bk % 8 == 0);
  return {uint32_t(w.dtype), words ? 1u : 0u, rows};
}

// The shaders address operands in 32-bit bytes.
dshal_status check_32bit(const char* op, std::initializer_list<uint64_t> bytes) {
  for (uint64_t b : bytes)
    if (b > UINT32_MAX) return fail(DSHAL_ERROR_UNSUPPORTED, std::string(op) + ": an operand spans more than 4 GiB");
  return DSHAL_OK;
}

uint32_t ceil_div(uint64_t x, uint64_t y) { return uint32_t((x + y - 1) / y); }

dshal_status gemm_quant(dshal_stream stream, const dshal_gemm_quant_desc* d) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    if (d->m == 0 || d->n == 0) return DSHAL_OK;
    const uint64_t c_bytes = ((d->m - 1) * d->c.ld + d->n) * elem_bytes(d->c.dtype);
    const uint64_t a_bytes = d->k ? ((d->m - 1) * d->a.ld + d->k) * elem_bytes(d->a.dtype) : 0;
    const WeightLayout l = d->k ? weight_layout(d->w, 1, d->n, d->k, 0, 0) : WeightLayout{};
    if (dshal_status st = check_32bit("gemm_quant", {c_bytes, a_bytes, l.w_bytes}); st != DSHAL_OK) return st;
    if (ceil_div(d->n, kTileCols) > s->device->info->props.limits.maxComputeWorkGroupCount[0])
      return fail(DSHAL_ERROR_UNSUPPORTED, "gemm_quant: n = " + std::to_string(d->n) + " is too large");
    const Bound c = bind(s, d->c.buffer, d->c.offset, c_bytes);
    std::lock_guard lock(s->m);
    // With k == 0 hal leaves W untranslated; alpha == 0 must not read A or W either.
    if (d->k == 0 || d->alpha == 0.0f) {
      return scale_c(s, c, d->c, d->m, d->n, 1, d->beta);
    }
    const Bound a = bind(s, d->a.buffer, d->a.offset, a_bytes);
    const Bound w = bind(s, d->w.buffer, d->w.offset, l.w_bytes);
    const Bound sc = bind(s, d->w.scales, d->w.scales_offset, l.s_bytes);
    QuantPush push{{},
                   uint32_t(d->m), uint32_t(d->n), uint32_t(d->k), 0,
                   a.offset, uint32_t(d->a.dtype), uint32_t(d->a.ld),
                   w.offset, uint32_t(l.row_bytes), sc.offset, l.bn, l.bk,
                   c.offset, uint32_t(d->c.dtype), uint32_t(d->c.ld),
                   d->alpha, d->beta};
    const uint32_t rows = tile_rows(d->m);
    const std::vector<uint32_t> spec = weight_spec(d->w, l, w.offset, 1, 0, rows);
    const uint32_t max_y = s->device->info->props.limits.maxComputeWorkGroupCount[1];
    const uint32_t tiles = ceil_div(d->m, rows);
    for (uint32_t t0 = 0; t0 < tiles; t0 += max_y) {
      push.row_base = t0;
      const Dispatch x{"gemm_quant", {a.binding, w.binding, sc.binding, c.binding}, &push, sizeof(push),
                       {ceil_div(d->n, kTileCols), std::min(max_y, tiles - t0), 1}, spec};
      if (dshal_status st = dispatch(s, x); st != DSHAL_OK) return st;
    }
    return DSHAL_OK;
  });
}

dshal_status grouped_gemm(dshal_stream stream, const dshal_grouped_gemm_desc* d) {
  return guarded([&] {
    Stream* s = as_stream(stream);
    if (d->m == 0 || d->n == 0) return DSHAL_OK;
    const dshal_weight& wd = d->w;
    const uint64_t c_bytes = ((d->m - 1) * d->c.ld + d->n) * elem_bytes(d->c.dtype);
    const uint64_t a_bytes = d->k ? ((d->m - 1) * d->a.ld + d->k) * elem_bytes(d->a.dtype) : 0;
    const WeightLayout l =
        d->k ? weight_layout(wd, d->groups, d->n, d->k, d->w_group_stride_bytes, d->scales_group_stride_bytes)
             : WeightLayout{0, 0, 0, 1, 1};
    if (dshal_status st = check_32bit("grouped_gemm", {c_bytes, a_bytes, l.w_bytes, l.s_bytes}); st != DSHAL_OK)
      return st;
    if (ceil_div(d->n, kTileCols) > s->device->info->props.limits.maxComputeWorkGroupCount[0])
      return fail(DSHAL_ERROR_UNSUPPORTED, "grouped_gemm: n = " + std::to_string(d->n) + " is too large");
    const Bound c = bind(s, d->c.buffer, d->c.offset, c_bytes);
    const Bound off = bind(s, d->offsets.buffer, d->offsets.offset, (d->groups + 1) * 4);
    // With k == 0 hal leaves A and W untranslated, and plain weights have no scales: the shader
    // does not read them then, so any bound operand stands in.
    const Bound a = d->k ? bind(s, d->a.buffer, d->a.offset, a_bytes) : off;
    const Bound w = d->k ? bind(s, wd.buffer, wd.offset, l.w_bytes) : off;
    const Bound sc = d->k && quantized(wd.dtype) ? bind(s, wd.scales, wd.scales_offset, l.s_bytes) : off;
    GroupedPush push{{},
                     uint32_t(d->m), uint32_t(d->n), uint32_t(d->k), uint32_t(d->groups), 0,
                     a.offset, uint32_t(d->a.dtype), uint32_t(d->a.ld),
                     w.offset, uint32_t(l.row_bytes), uint32_t(d->w_group_stride_bytes), sc.offset,
                     uint32_t(d->scales_group_stride_bytes), l.bn, l.bk,
                     off.offset,
                     c.offset, uint32_t(d->c.dtype), uint32_t(d->c.ld)};
    // The rows per group are on the device: tiles fit the average (MoE decode: about one).
    const std::vector<uint32_t> spec =
        weight_spec(wd, l, w.offset, d->groups, d->w_group_stride_bytes, tile_rows((d->m + d->groups - 1) / d->groups));
    std::lock_guard lock(s->m);
    const uint32_t max_y = s->device->info->props.limits.maxComputeWorkGroupCount[1];
    for (uint64_t g0 = 0; g0 < d->groups; g0 += max_y) {
      push.group_base = uint32_t(g0);
      const Dispatch x{"gemm_grouped",
                       {a.binding, w.binding, sc.binding, off.binding, c.binding, status_operand(s)},
                       &push,
                       sizeof(push),
                       {ceil_div(d->n, kTileCols), uint32_t(std::min<uint64_t>(max_y, d->groups - g0)), 1},
                       spec};
      if (dshal_status st = dispatch(s, x); st != DSHAL_OK) return st;
    }
    return DSHAL_OK;
  });
}

// The ops above read weights in their plain layout, so the "packed" buffer is a device copy of
// the weight range (what hal lists for it), enqueued on the stream; the scales stay where they are.
dshal_status prepack_weight(dshal_stream stream, const dshal_prepack_desc* d, dshal_buffer* out) {
  *out = nullptr;
  return guarded([&] {
    Stream* s = as_stream(stream);
    const uint64_t bytes = weight_layout(d->w, d->groups, d->n, d->k, d->w_group_stride_bytes, 0).w_bytes;
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

void fill_weight_gemm_slots(dshal_adapter_table* t) {
  t->gemm_quant = gemm_quant;
  t->grouped_gemm = grouped_gemm;
  t->prepack_weight = prepack_weight;
}

}  // namespace dshal::vulkan
