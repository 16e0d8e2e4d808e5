// Per-op descriptor rules and operand extents (see operands.hpp).
#include "operands.hpp"

#include <fmt/format.h>

#include "host/dtype.hpp"

namespace dshal::detail {
namespace {

using u128 = unsigned __int128;
constexpr u128 kMaxBytes = u128(1) << 62;

Status bad(const char* op, const std::string& msg) {
  return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("{}: {}", op, msg));
}

bool is_float(dshal_dtype t) { return t == DSHAL_DTYPE_F32 || t == DSHAL_DTYPE_F16 || t == DSHAL_DTYPE_BF16; }

Status want_float(const char* op, const char* name, dshal_dtype t) {
  if (!is_float(t)) return bad(op, fmt::format("{}.dtype = {} is not one of f32, f16, bf16", name, dtype_name(t)));
  return {};
}

Status want_dtype(const char* op, const char* name, dshal_dtype t, dshal_dtype expected) {
  if (t != expected) return bad(op, fmt::format("{}.dtype = {} must be {}", name, dtype_name(t), dtype_name(expected)));
  return {};
}

Status want_ld(const char* op, const char* name, uint64_t ld, uint64_t cols) {
  if (ld < cols) return bad(op, fmt::format("{}.ld = {} is below the row width {}", name, ld, cols));
  return {};
}

// Elements spanned by rows x cols with row stride ld (0 when empty).
u128 span2d(uint64_t rows, uint64_t cols, uint64_t ld) {
  return (rows == 0 || cols == 0) ? 0 : u128(rows - 1) * ld + cols;
}

// Elements spanned by [a][b][width] with strides sa, sb.
u128 span3d(uint64_t a, uint64_t b, uint64_t width, uint64_t sa, uint64_t sb) {
  return (a == 0 || b == 0 || width == 0) ? 0 : u128(a - 1) * sa + u128(b - 1) * sb + width;
}

class Lister {
 public:
  Lister(const char* op, OperandList* out) : op_(op), out_(out) {
    out_->op = op;
    out_->items.clear();
  }
  Status add(const char* name, dshal_buffer& b, uint64_t& off, u128 elements, dshal_dtype t, bool write,
             bool optional = false) {
    const u128 bytes = t == DSHAL_DTYPE_INT4 ? (elements + 1) / 2 : elements * dtype_bytes(t);
    if (bytes > kMaxBytes) return bad(op_, fmt::format("{} spans more than 2^62 bytes", name));
    out_->items.push_back({name, &b, &off, uint64_t(bytes), t, write, optional});
    return {};
  }
  Status add_bytes(const char* name, dshal_buffer& b, uint64_t& off, u128 bytes, bool write) {
    if (bytes > kMaxBytes) return bad(op_, fmt::format("{} spans more than 2^62 bytes", name));
    out_->items.push_back({name, &b, &off, uint64_t(bytes), DSHAL_DTYPE_INVALID, write, false});
    return {};
  }

 private:
  const char* op_;
  OperandList* out_;
};

// A W[N][K] weight (per group when groups > 1) and its scales.
Status list_weight(const char* op, Lister& l, dshal_weight& w, uint64_t groups, uint64_t n, uint64_t k,
                   uint64_t group_stride, uint64_t scales_group_stride, bool allow_plain, bool allow_quant) {
  const bool quant = w.dtype == DSHAL_DTYPE_FP8_E4M3 || w.dtype == DSHAL_DTYPE_INT4;
  if (quant ? !allow_quant : !(allow_plain && is_float(w.dtype)))
    return bad(op, fmt::format("w.dtype = {} is not supported here (expected {})", dtype_name(w.dtype),
                               allow_plain && allow_quant ? "f32, f16, bf16, fp8 or int4"
                               : allow_quant             ? "fp8 or int4"
                                                         : "f32, f16 or bf16"));
  if (groups == 0 || n == 0 || k == 0) return {};
  if (!quant) {
    DSHAL_RETURN_IF_ERROR(want_ld(op, "w", w.ld, k));
    const uint64_t elem = dtype_bytes(w.dtype);
    if (groups > 1 && group_stride % elem != 0)
      return bad(op, fmt::format("w_group_stride_bytes = {} is not a multiple of the element size {}", group_stride, elem));
    return l.add_bytes("w", w.buffer, w.offset, u128(groups - 1) * group_stride + span2d(n, k, w.ld) * elem, false);
  }
  if (w.ld != k) return bad(op, fmt::format("w.ld = {} must equal k = {} for {} weights", w.ld, k, dtype_name(w.dtype)));
  if (w.dtype == DSHAL_DTYPE_INT4 && k % 2 != 0) return bad(op, fmt::format("k = {} must be even for int4 weights", k));
  if (w.block_n == 0 || w.block_k == 0)
    return bad(op, fmt::format("w.block_n = {}, w.block_k = {}: scale blocks must be at least 1x1", w.block_n, w.block_k));
  if (w.dtype == DSHAL_DTYPE_INT4 && w.block_n != 1)
    return bad(op, fmt::format("w.block_n = {} must be 1 for int4 (per-row group scales)", w.block_n));
  const u128 per_group = w.dtype == DSHAL_DTYPE_INT4 ? u128(n) * k / 2 : u128(n) * k;
  DSHAL_RETURN_IF_ERROR(l.add_bytes("w", w.buffer, w.offset, u128(groups - 1) * group_stride + per_group, false));
  const u128 scales = u128((n + w.block_n - 1) / w.block_n) * ((k + w.block_k - 1) / w.block_k);
  return l.add_bytes("w.scales", w.scales, w.scales_offset, u128(groups - 1) * scales_group_stride + scales * 4, false);
}

}  // namespace

Status describe(dshal_gemm_desc& d, OperandList* out) {
  const char* op = "gemm";
  DSHAL_RETURN_IF_ERROR(check_struct_size(d, op));
  DSHAL_RETURN_IF_ERROR(want_float(op, "a", d.a.dtype));
  DSHAL_RETURN_IF_ERROR(want_float(op, "b", d.b.dtype));
  DSHAL_RETURN_IF_ERROR(want_float(op, "c", d.c.dtype));
  if (d.trans_a > 1 || d.trans_b > 1)
    return bad(op, fmt::format("trans_a = {}, trans_b = {}: each must be 0 or 1", d.trans_a, d.trans_b));
  Lister l(op, out);
  if (d.m == 0 || d.n == 0 || d.batch == 0) return {};
  const uint64_t a_rows = d.trans_a ? d.k : d.m, a_cols = d.trans_a ? d.m : d.k;
  const uint64_t b_rows = d.trans_b ? d.n : d.k, b_cols = d.trans_b ? d.k : d.n;
  DSHAL_RETURN_IF_ERROR(want_ld(op, "c", d.c.ld, d.n));
  // C matrices of a batch must not share an element: either one after another, or side by side
  // within the rows (per-head column blocks of one [m][heads * n] matrix).
  const bool stacked = d.c.batch_stride >= span2d(d.m, d.n, d.c.ld);
  const bool side_by_side = d.c.batch_stride >= d.n && u128(d.batch - 1) * d.c.batch_stride + d.n <= d.c.ld;
  if (d.batch > 1 && !stacked && !side_by_side)
    return bad(op, fmt::format("c.batch_stride = {} makes the C matrices of the batch overlap (one spans {} "
                               "elements; side by side they need batch_stride >= n = {} within ld = {})",
                               d.c.batch_stride, uint64_t(span2d(d.m, d.n, d.c.ld)), d.n, d.c.ld));
  if (d.k > 0) {
    if (d.a.ld < a_cols)
      return bad(op, fmt::format("a.ld = {} is below {} = {} (a is stored {} x {})", d.a.ld, d.trans_a ? "m" : "k",
                                 a_cols, a_rows, a_cols));
    if (d.b.ld < b_cols)
      return bad(op, fmt::format("b.ld = {} is below {} = {} (b is stored {} x {})", d.b.ld, d.trans_b ? "k" : "n",
                                 b_cols, b_rows, b_cols));
    DSHAL_RETURN_IF_ERROR(l.add("a", d.a.buffer, d.a.offset,
                                u128(d.batch - 1) * d.a.batch_stride + span2d(a_rows, a_cols, d.a.ld), d.a.dtype, false));
    DSHAL_RETURN_IF_ERROR(l.add("b", d.b.buffer, d.b.offset,
                                u128(d.batch - 1) * d.b.batch_stride + span2d(b_rows, b_cols, d.b.ld), d.b.dtype, false));
  }
  return l.add("c", d.c.buffer, d.c.offset, u128(d.batch - 1) * d.c.batch_stride + span2d(d.m, d.n, d.c.ld),
               d.c.dtype, true);
}

Status describe(dshal_gemm_quant_desc& d, OperandList* out) {
  const char* op = "gemm_quant";
  DSHAL_RETURN_IF_ERROR(check_struct_size(d, op));
  DSHAL_RETURN_IF_ERROR(want_float(op, "a", d.a.dtype));
  DSHAL_RETURN_IF_ERROR(want_float(op, "c", d.c.dtype));
  Lister l(op, out);
  DSHAL_RETURN_IF_ERROR(list_weight(op, l, d.w, 1, d.n, d.k, 0, 0, false, true));
  if (d.m == 0 || d.n == 0) return {};
  DSHAL_RETURN_IF_ERROR(want_ld(op, "a", d.a.ld, d.k));
  DSHAL_RETURN_IF_ERROR(want_ld(op, "c", d.c.ld, d.n));
  DSHAL_RETURN_IF_ERROR(l.add("a", d.a.buffer, d.a.offset, span2d(d.m, d.k, d.a.ld), d.a.dtype, false));
  return l.add("c", d.c.buffer, d.c.offset, span2d(d.m, d.n, d.c.ld), d.c.dtype, true);
}

Status describe(dshal_grouped_gemm_desc& d, OperandList* out) {
  const char* op = "grouped_gemm";
  DSHAL_RETURN_IF_ERROR(check_struct_size(d, op));
  DSHAL_RETURN_IF_ERROR(want_float(op, "a", d.a.dtype));
  DSHAL_RETURN_IF_ERROR(want_float(op, "c", d.c.dtype));
  if (d.groups == 0) return bad(op, "groups = 0: at least one group is needed");
  Lister l(op, out);
  DSHAL_RETURN_IF_ERROR(
      list_weight(op, l, d.w, d.groups, d.n, d.k, d.w_group_stride_bytes, d.scales_group_stride_bytes, true, true));
  DSHAL_RETURN_IF_ERROR(l.add("offsets", d.offsets.buffer, d.offsets.offset, u128(d.groups) + 1, DSHAL_DTYPE_I32, false));
  if (d.m == 0 || d.n == 0) return {};
  DSHAL_RETURN_IF_ERROR(want_ld(op, "a", d.a.ld, d.k));
  DSHAL_RETURN_IF_ERROR(want_ld(op, "c", d.c.ld, d.n));
  DSHAL_RETURN_IF_ERROR(l.add("a", d.a.buffer, d.a.offset, span2d(d.m, d.k, d.a.ld), d.a.dtype, false));
  return l.add("c", d.c.buffer, d.c.offset, span2d(d.m, d.n, d.c.ld), d.c.dtype, true);
}

Status describe(dshal_rms_norm_desc& d, OperandList* out) {
  const char* op = "rms_norm";
  DSHAL_RETURN_IF_ERROR(check_struct_size(d, op));
  for (auto [name, t] : {std::pair{"x", d.x.dtype}, {"weight", d.weight.dtype}, {"out", d.out.dtype}})
    DSHAL_RETURN_IF_ERROR(want_float(op, name, t));
  if (!(d.eps >= 0)) return bad(op, fmt::format("eps = {} must be >= 0", d.eps));
  Lister l(op, out);
  if (d.rows == 0 || d.cols == 0) return {};
  DSHAL_RETURN_IF_ERROR(want_ld(op, "x", d.x.ld, d.cols));
  DSHAL_RETURN_IF_ERROR(want_ld(op, "out", d.out.ld, d.cols));
  DSHAL_RETURN_IF_ERROR(l.add("x", d.x.buffer, d.x.offset, span2d(d.rows, d.cols, d.x.ld), d.x.dtype, false));
  DSHAL_RETURN_IF_ERROR(l.add("weight", d.weight.buffer, d.weight.offset, d.cols, d.weight.dtype, false));
  return l.add("out", d.out.buffer, d.out.offset, span2d(d.rows, d.cols, d.out.ld), d.out.dtype, true);
}

Status describe(dshal_rope_desc& d, OperandList* out) {
  const char* op = "rope";
  DSHAL_RETURN_IF_ERROR(check_struct_size(d, op));
  DSHAL_RETURN_IF_ERROR(want_float(op, "x", d.dtype));
  if (d.dim % 2 != 0) return bad(op, fmt::format("dim = {} must be even (interleaved pairs)", d.dim));
  if (d.max_position == 0) return bad(op, "max_position = 0: the tables need at least one row");
  Lister l(op, out);
  if (d.tokens == 0 || d.heads == 0 || d.dim == 0) return {};
  if (d.heads > 1 && d.head_stride < d.dim)
    return bad(op, fmt::format("head_stride = {} is below dim = {}", d.head_stride, d.dim));
  if (d.tokens > 1 && d.token_stride < d.dim)
    return bad(op, fmt::format("token_stride = {} is below dim = {}", d.token_stride, d.dim));
  DSHAL_RETURN_IF_ERROR(l.add("x", d.buffer, d.offset, span3d(d.tokens, d.heads, d.dim, d.token_stride, d.head_stride),
                              d.dtype, true));
  DSHAL_RETURN_IF_ERROR(l.add("positions", d.positions.buffer, d.positions.offset, d.tokens, DSHAL_DTYPE_I32, false));
  const u128 table = u128(d.max_position) * (d.dim / 2);
  DSHAL_RETURN_IF_ERROR(l.add("cos_table", d.cos_table.buffer, d.cos_table.offset, table, DSHAL_DTYPE_F32, false));
  return l.add("sin_table", d.sin_table.buffer, d.sin_table.offset, table, DSHAL_DTYPE_F32, false);
}

Status describe(dshal_softmax_desc& d, OperandList* out) {
  const char* op = "softmax";
  DSHAL_RETURN_IF_ERROR(check_struct_size(d, op));
  DSHAL_RETURN_IF_ERROR(want_float(op, "x", d.x.dtype));
  DSHAL_RETURN_IF_ERROR(want_float(op, "out", d.out.dtype));
  if (d.causal > 1) return bad(op, fmt::format("causal = {} must be 0 or 1", d.causal));
  if (d.causal && d.row_period == 0) return bad(op, "row_period = 0: causal masking needs the query count");
  Lister l(op, out);
  if (d.rows == 0 || d.cols == 0) return {};
  DSHAL_RETURN_IF_ERROR(want_ld(op, "x", d.x.ld, d.cols));
  DSHAL_RETURN_IF_ERROR(want_ld(op, "out", d.out.ld, d.cols));
  DSHAL_RETURN_IF_ERROR(l.add("x", d.x.buffer, d.x.offset, span2d(d.rows, d.cols, d.x.ld), d.x.dtype, false));
  return l.add("out", d.out.buffer, d.out.offset, span2d(d.rows, d.cols, d.out.ld), d.out.dtype, true);
}

Status describe(dshal_silu_mul_desc& d, OperandList* out) {
  const char* op = "silu_mul";
  DSHAL_RETURN_IF_ERROR(check_struct_size(d, op));
  for (auto [name, t] : {std::pair{"gate", d.gate.dtype}, {"up", d.up.dtype}, {"out", d.out.dtype}})
    DSHAL_RETURN_IF_ERROR(want_float(op, name, t));
  Lister l(op, out);
  if (d.rows == 0 || d.cols == 0) return {};
  for (auto [name, ld] : {std::pair{"gate", d.gate.ld}, {"up", d.up.ld}, {"out", d.out.ld}})
    DSHAL_RETURN_IF_ERROR(want_ld(op, name, ld, d.cols));
  DSHAL_RETURN_IF_ERROR(l.add("gate", d.gate.buffer, d.gate.offset, span2d(d.rows, d.cols, d.gate.ld), d.gate.dtype, false));
  DSHAL_RETURN_IF_ERROR(l.add("up", d.up.buffer, d.up.offset, span2d(d.rows, d.cols, d.up.ld), d.up.dtype, false));
  return l.add("out", d.out.buffer, d.out.offset, span2d(d.rows, d.cols, d.out.ld), d.out.dtype, true);
}

Status describe(dshal_moe_route_desc& d, OperandList* out) {
  const char* op = "moe_route";
  DSHAL_RETURN_IF_ERROR(check_struct_size(d, op));
  DSHAL_RETURN_IF_ERROR(want_dtype(op, "logits", d.logits.dtype, DSHAL_DTYPE_F32));
  if (d.scoring != DSHAL_MOE_SCORING_SOFTMAX && d.scoring != DSHAL_MOE_SCORING_SIGMOID)
    return bad(op, fmt::format("scoring = {} is not a dshal_moe_scoring", int(d.scoring)));
  if (d.method != DSHAL_MOE_TOPK_GREEDY && d.method != DSHAL_MOE_TOPK_GROUP_LIMITED_GREEDY &&
      d.method != DSHAL_MOE_TOPK_NOAUX_TC)
    return bad(op, fmt::format("method = {} is not a dshal_moe_topk_method", int(d.method)));
  if (d.experts == 0) return bad(op, "experts = 0");
  if (d.top_k == 0 || d.top_k > d.experts)
    return bad(op, fmt::format("top_k = {} must be in [1, experts = {}]", d.top_k, d.experts));
  if (d.method != DSHAL_MOE_TOPK_GREEDY) {
    if (d.n_group == 0 || d.experts % d.n_group != 0)
      return bad(op, fmt::format("n_group = {} must divide experts = {}", d.n_group, d.experts));
    if (d.topk_group == 0 || d.topk_group > d.n_group)
      return bad(op, fmt::format("topk_group = {} must be in [1, n_group = {}]", d.topk_group, d.n_group));
    if (d.top_k > d.topk_group * (d.experts / d.n_group))
      return bad(op, fmt::format("top_k = {} exceeds the {} experts in topk_group = {} groups", d.top_k,
                                 d.topk_group * (d.experts / d.n_group), d.topk_group));
    if (d.method == DSHAL_MOE_TOPK_NOAUX_TC && d.experts / d.n_group < 2)
      return bad(op, fmt::format("noaux_tc scores groups by their top 2, but groups hold {} expert(s)", d.experts / d.n_group));
  }
  Lister l(op, out);
  if (d.tokens == 0) return {};
  DSHAL_RETURN_IF_ERROR(want_ld(op, "logits", d.logits.ld, d.experts));
  DSHAL_RETURN_IF_ERROR(
      l.add("logits", d.logits.buffer, d.logits.offset, span2d(d.tokens, d.experts, d.logits.ld), DSHAL_DTYPE_F32, false));
  DSHAL_RETURN_IF_ERROR(l.add("bias", d.bias.buffer, d.bias.offset, d.experts, DSHAL_DTYPE_F32, false, true));
  DSHAL_RETURN_IF_ERROR(l.add("topk_ids", d.topk_ids.buffer, d.topk_ids.offset, u128(d.tokens) * d.top_k, DSHAL_DTYPE_I32, true));
  return l.add("topk_weights", d.topk_weights.buffer, d.topk_weights.offset, u128(d.tokens) * d.top_k, DSHAL_DTYPE_F32, true);
}

Status describe(dshal_moe_permute_desc& d, OperandList* out) {
  const char* op = "moe_permute";
  DSHAL_RETURN_IF_ERROR(check_struct_size(d, op));
  DSHAL_RETURN_IF_ERROR(want_float(op, "x", d.x.dtype));
  DSHAL_RETURN_IF_ERROR(want_dtype(op, "out", d.out.dtype, d.x.dtype));
  if (d.experts == 0 || d.top_k == 0) return bad(op, fmt::format("experts = {}, top_k = {}: both must be >= 1", d.experts, d.top_k));
  if (u128(d.tokens) * d.top_k > INT32_MAX) return bad(op, "tokens * top_k exceeds the I32 range of perm");
  Lister l(op, out);
  DSHAL_RETURN_IF_ERROR(l.add("expert_offsets", d.expert_offsets.buffer, d.expert_offsets.offset, u128(d.experts) + 1,
                              DSHAL_DTYPE_I32, true));
  if (d.tokens == 0) return {};
  const uint64_t slots = d.tokens * d.top_k;
  DSHAL_RETURN_IF_ERROR(l.add("topk_ids", d.topk_ids.buffer, d.topk_ids.offset, slots, DSHAL_DTYPE_I32, false));
  DSHAL_RETURN_IF_ERROR(l.add("perm", d.perm.buffer, d.perm.offset, slots, DSHAL_DTYPE_I32, true));
  if (d.hidden == 0) return {};
  DSHAL_RETURN_IF_ERROR(want_ld(op, "x", d.x.ld, d.hidden));
  DSHAL_RETURN_IF_ERROR(want_ld(op, "out", d.out.ld, d.hidden));
  DSHAL_RETURN_IF_ERROR(l.add("x", d.x.buffer, d.x.offset, span2d(d.tokens, d.hidden, d.x.ld), d.x.dtype, false));
  return l.add("out", d.out.buffer, d.out.offset, span2d(slots, d.hidden, d.out.ld), d.out.dtype, true);
}

Status describe(dshal_moe_unpermute_desc& d, OperandList* out) {
  const char* op = "moe_unpermute";
  DSHAL_RETURN_IF_ERROR(check_struct_size(d, op));
  DSHAL_RETURN_IF_ERROR(want_float(op, "y", d.y.dtype));
  DSHAL_RETURN_IF_ERROR(want_float(op, "out", d.out.dtype));
  if (d.top_k == 0) return bad(op, "top_k = 0");
  if (d.accumulate > 1) return bad(op, fmt::format("accumulate = {} must be 0 or 1", d.accumulate));
  if (u128(d.tokens) * d.top_k > INT32_MAX) return bad(op, "tokens * top_k exceeds the I32 range of perm");
  Lister l(op, out);
  if (d.tokens == 0 || d.hidden == 0) return {};
  const uint64_t slots = d.tokens * d.top_k;
  DSHAL_RETURN_IF_ERROR(want_ld(op, "y", d.y.ld, d.hidden));
  DSHAL_RETURN_IF_ERROR(want_ld(op, "out", d.out.ld, d.hidden));
  DSHAL_RETURN_IF_ERROR(l.add("y", d.y.buffer, d.y.offset, span2d(slots, d.hidden, d.y.ld), d.y.dtype, false));
  DSHAL_RETURN_IF_ERROR(l.add("perm", d.perm.buffer, d.perm.offset, slots, DSHAL_DTYPE_I32, false));
  DSHAL_RETURN_IF_ERROR(l.add("weights", d.weights.buffer, d.weights.offset, slots, DSHAL_DTYPE_F32, false));
  return l.add("out", d.out.buffer, d.out.offset, span2d(d.tokens, d.hidden, d.out.ld), d.out.dtype, true);
}

Status describe(dshal_embedding_desc& d, OperandList* out) {
  const char* op = "embedding";
  DSHAL_RETURN_IF_ERROR(check_struct_size(d, op));
  DSHAL_RETURN_IF_ERROR(want_float(op, "table", d.table.dtype));
  DSHAL_RETURN_IF_ERROR(want_float(op, "out", d.out.dtype));
  if (d.vocab == 0) return bad(op, "vocab = 0");
  if (d.vocab > INT32_MAX) return bad(op, fmt::format("vocab = {} exceeds the I32 range of ids", d.vocab));
  Lister l(op, out);
  if (d.tokens == 0 || d.hidden == 0) return {};
  DSHAL_RETURN_IF_ERROR(want_ld(op, "table", d.table.ld, d.hidden));
  DSHAL_RETURN_IF_ERROR(want_ld(op, "out", d.out.ld, d.hidden));
  DSHAL_RETURN_IF_ERROR(l.add("table", d.table.buffer, d.table.offset, span2d(d.vocab, d.hidden, d.table.ld), d.table.dtype, false));
  DSHAL_RETURN_IF_ERROR(l.add("ids", d.ids.buffer, d.ids.offset, d.tokens, DSHAL_DTYPE_I32, false));
  return l.add("out", d.out.buffer, d.out.offset, span2d(d.tokens, d.hidden, d.out.ld), d.out.dtype, true);
}

Status describe(dshal_elementwise_desc& d, OperandList* out) {
  const char* op = "elementwise";
  DSHAL_RETURN_IF_ERROR(check_struct_size(d, op));
  if (d.op < DSHAL_ELEMENTWISE_ADD || d.op > DSHAL_ELEMENTWISE_CAST)
    return bad(op, fmt::format("op = {} is not a dshal_elementwise_op", int(d.op)));
  const bool binary = d.op == DSHAL_ELEMENTWISE_ADD || d.op == DSHAL_ELEMENTWISE_MUL;
  DSHAL_RETURN_IF_ERROR(want_float(op, "a", d.a.dtype));
  if (binary) DSHAL_RETURN_IF_ERROR(want_float(op, "b", d.b.dtype));
  DSHAL_RETURN_IF_ERROR(want_float(op, "out", d.out.dtype));
  Lister l(op, out);
  if (d.n == 0) return {};
  DSHAL_RETURN_IF_ERROR(l.add("a", d.a.buffer, d.a.offset, d.n, d.a.dtype, false));
  if (binary) DSHAL_RETURN_IF_ERROR(l.add("b", d.b.buffer, d.b.offset, d.n, d.b.dtype, false));
  return l.add("out", d.out.buffer, d.out.offset, d.n, d.out.dtype, true);
}

Status describe(dshal_attention_desc& d, OperandList* out) {
  const char* op = "attention";
  DSHAL_RETURN_IF_ERROR(check_struct_size(d, op));
  for (auto [name, t] : {std::pair{"q", d.q.dtype}, {"k", d.k.dtype}, {"v", d.v.dtype}, {"out", d.out.dtype}})
    DSHAL_RETURN_IF_ERROR(want_float(op, name, t));
  if (d.mode != DSHAL_ATTENTION_NAIVE && d.mode != DSHAL_ATTENTION_ABSORBED)
    return bad(op, fmt::format("mode = {} is not a dshal_attention_mode", int(d.mode)));
  if (d.causal > 1) return bad(op, fmt::format("causal = {} must be 0 or 1", d.causal));
  if (d.heads == 0 || d.kv_heads == 0 || d.heads % d.kv_heads != 0)
    return bad(op, fmt::format("kv_heads = {} must divide heads = {}", d.kv_heads, d.heads));
  if (d.mode == DSHAL_ATTENTION_ABSORBED && d.kv_heads != 1)
    return bad(op, fmt::format("kv_heads = {} must be 1 in absorbed mode (one latent cache)", d.kv_heads));
  if (d.qk_dim == 0 || d.v_dim == 0) return bad(op, fmt::format("qk_dim = {}, v_dim = {}: both must be >= 1", d.qk_dim, d.v_dim));
  Lister l(op, out);
  if (d.q_len == 0) return {};
  if (d.kv_len == 0) return bad(op, "kv_len = 0: queries need at least one key");
  DSHAL_RETURN_IF_ERROR(l.add("q", d.q.buffer, d.q.offset, span3d(d.q_len, d.heads, d.qk_dim, d.q.token_stride, d.q.head_stride), d.q.dtype, false));
  DSHAL_RETURN_IF_ERROR(l.add("k", d.k.buffer, d.k.offset, span3d(d.kv_len, d.kv_heads, d.qk_dim, d.k.token_stride, d.k.head_stride), d.k.dtype, false));
  DSHAL_RETURN_IF_ERROR(l.add("v", d.v.buffer, d.v.offset, span3d(d.kv_len, d.kv_heads, d.v_dim, d.v.token_stride, d.v.head_stride), d.v.dtype, false));
  return l.add("out", d.out.buffer, d.out.offset, span3d(d.q_len, d.heads, d.v_dim, d.out.token_stride, d.out.head_stride), d.out.dtype, true);
}

Status describe(dshal_prepack_desc& d, OperandList* out) {
  const char* op = "prepack_weight";
  DSHAL_RETURN_IF_ERROR(check_struct_size(d, op));
  if (d.groups == 0 || d.n == 0 || d.k == 0)
    return bad(op, fmt::format("groups = {}, n = {}, k = {}: all must be >= 1", d.groups, d.n, d.k));
  Lister l(op, out);
  return list_weight(op, l, d.w, d.groups, d.n, d.k, d.w_group_stride_bytes, 0, true, true);
}

Status check_and_translate(const DeviceObj& device, OperandList& ops) {
  for (Operand& o : ops.items) {
    if (o.bytes == 0) {
      *o.buffer = nullptr;
      continue;
    }
    if (*o.buffer == nullptr && o.optional) continue;
    BufferObj* b = buffer_obj(*o.buffer);
    if (!b)
      return bad(ops.op, fmt::format("{}.buffer = {} is not a live dshal buffer", o.name, fmt::ptr(*o.buffer)));
    if (b->device != &device)
      return bad(ops.op, fmt::format("{}.buffer lives on {}, but the stream is on {}", o.name, b->device->id, device.id));
    if (*o.offset > b->size || o.bytes > b->size - *o.offset)
      return bad(ops.op, fmt::format("{}: offset {} + {} bytes exceeds the buffer's {} bytes", o.name, *o.offset,
                                     o.bytes, b->size));
    const uint32_t elem = dtype_bytes(o.dtype);
    if (elem > 1 && *o.offset % elem != 0)
      return bad(ops.op, fmt::format("{}.offset = {} is not a multiple of the {} element size {}", o.name, *o.offset,
                                     dtype_name(o.dtype), elem));
    if (o.dtype != DSHAL_DTYPE_INVALID && !(device.props.storage_dtypes & DSHAL_DTYPE_BIT(o.dtype)))
      return Status(DSHAL_ERROR_UNSUPPORTED, fmt::format("{}: {}.dtype = {} is not supported by {}", ops.op, o.name,
                                                         dtype_name(o.dtype), device.id));
    *o.buffer = b->handle;
  }
  return {};
}

}  // namespace dshal::detail
