// Tests of the row-wise host ops (rms_norm, rope, softmax, silu_mul) against fp64 references.
#include "host/ops/test_util.hpp"

#include <cmath>
#include <vector>

namespace dshal::host::test {
namespace {

const dshal_dtype kActTypes[] = {DSHAL_DTYPE_F32, DSHAL_DTYPE_BF16, DSHAL_DTYPE_F16};

// ---- rms_norm -------------------------------------------------------------------------------------

void run_rms_norm(dshal_dtype xt, dshal_dtype wt, dshal_dtype ot, uint64_t rows, uint64_t cols, uint64_t ld_x,
                  uint64_t ld_out, bool alias) {
  SCOPED_TRACE(cat("rms_norm x ", dtype_name(xt), " w ", dtype_name(wt), " out ", dtype_name(ot), " ", rows, "x", cols,
                   alias ? " aliased" : ""));
  if (alias) ot = xt;
  const uint64_t xb = dtype_bytes(xt), ob = dtype_bytes(ot);
  const uint64_t x_off = 32, w_off = after(x_off + rows * ld_x * xb, 16);
  const uint64_t out_off = alias ? x_off : after(w_off + cols * dtype_bytes(wt));
  Buffer buf(std::max(w_off + cols * dtype_bytes(wt), out_off + rows * (alias ? ld_x : ld_out) * ob) + 24);
  std::vector<double> x(rows * cols), w(cols);
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t c = 0; c < cols; ++c) x[r * cols + c] = put(buf.data() + x_off, xt, r * ld_x + c, uniform(-3, 3));
  for (uint64_t c = 0; c < cols; ++c) w[c] = put(buf.data() + w_off, wt, c, uniform(0.5f, 1.5f));
  const float eps = 1e-6f;

  dshal_rms_norm_desc d{};
  d.struct_size = sizeof d;
  d.rows = rows;
  d.cols = cols;
  d.eps = eps;
  d.x = {buf.handle(), x_off, xt, ld_x};
  d.weight = {buf.handle(), w_off, wt, cols};
  d.out = alias ? d.x : dshal_tensor{buf.handle(), out_off, ot, ld_out};
  const uint64_t ld_o = d.out.ld;
  WriteMask mask(buf.size());
  mask.allow_rows(out_off, rows, cols, ld_o, ob);
  const auto before = buf.snapshot();
  std::string error;
  ASSERT_EQ(rms_norm(d, &error), DSHAL_OK) << error;
  mask.expect_only_allowed_changed(buf, before);

  Compare cmp(d.out.dtype, 5e-7);
  for (uint64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (uint64_t c = 0; c < cols; ++c) ss += x[r * cols + c] * x[r * cols + c];
    const double inv = 1.0 / std::sqrt(ss / double(cols) + double(eps));
    for (uint64_t c = 0; c < cols; ++c)
      cmp.add(get(buf.data() + out_off, d.out.dtype, r * ld_o + c), x[r * cols + c] * inv * w[c],
              {r, c});
  }
  cmp.expect_ok();
}

TEST(RmsNorm, F32Strided) { run_rms_norm(DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, 7, 129, 140, 133, false); }
TEST(RmsNorm, F32DeepSeekWidth) { run_rms_norm(DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, 5, 7168, 7168, 7170, false); }
TEST(RmsNorm, Bf16AliasedInPlace) { run_rms_norm(DSHAL_DTYPE_BF16, DSHAL_DTYPE_BF16, DSHAL_DTYPE_BF16, 9, 257, 260, 0, true); }
TEST(RmsNorm, F16AliasedInPlace) { run_rms_norm(DSHAL_DTYPE_F16, DSHAL_DTYPE_F32, DSHAL_DTYPE_F16, 3, 64, 64, 0, true); }
TEST(RmsNorm, Bf16InF32Out) { run_rms_norm(DSHAL_DTYPE_BF16, DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, 4, 31, 33, 31, false); }
TEST(RmsNorm, SingleColumnAndManyRows) { run_rms_norm(DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, 300, 1, 2, 3, false); }

// ---- rope -----------------------------------------------------------------------------------------

void run_rope(dshal_dtype t, uint64_t tokens, uint64_t heads, uint64_t dim, uint64_t max_pos, uint64_t pre,
              uint64_t head_stride, uint64_t token_stride) {
  SCOPED_TRACE(cat("rope ", dtype_name(t), " tokens ", tokens, " heads ", heads, " dim ", dim));
  const uint64_t eb = dtype_bytes(t), half = dim / 2;
  const uint64_t x_off = 16, pos_off = after(x_off + tokens * token_stride * eb, 16);
  const uint64_t cos_off = after(pos_off + tokens * 4, 16), sin_off = cos_off + max_pos * half * 4;
  Buffer buf(sin_off + max_pos * half * 4 + 8);
  // x[t][h][pre + i] is rotated; the elements before it (the "nope" part) must stay as they are.
  std::vector<double> x(tokens * heads * dim);
  for (uint64_t tk = 0; tk < tokens; ++tk)
    for (uint64_t h = 0; h < heads; ++h) {
      for (uint64_t i = 0; i < pre; ++i) put(buf.data() + x_off, t, tk * token_stride + h * head_stride + i, uniform(-1, 1));
      for (uint64_t i = 0; i < dim; ++i)
        x[(tk * heads + h) * dim + i] = put(buf.data() + x_off, t, tk * token_stride + h * head_stride + pre + i, uniform(-2, 2));
    }
  auto* pos = buf.as<int32_t>(pos_off);
  for (uint64_t tk = 0; tk < tokens; ++tk)
    pos[tk] = tk == 0 ? 0 : tk == 1 ? int32_t(max_pos - 1) : int32_t(std::uniform_int_distribution<uint64_t>(0, max_pos - 1)(rng()));
  auto* cs = buf.as<float>(cos_off);
  auto* sn = buf.as<float>(sin_off);
  for (uint64_t p = 0; p < max_pos; ++p)
    for (uint64_t i = 0; i < half; ++i) {
      const double angle = double(p) * std::pow(10000.0, -2.0 * double(i) / double(dim));
      cs[p * half + i] = float(std::cos(angle) * 0.9);  // a YaRN-like mscale != 1
      sn[p * half + i] = float(std::sin(angle) * 0.9);
    }

  dshal_rope_desc d{};
  d.struct_size = sizeof d;
  d.tokens = tokens;
  d.heads = heads;
  d.dim = dim;
  d.max_position = max_pos;
  d.buffer = buf.handle();
  d.offset = x_off + pre * eb;
  d.dtype = t;
  d.token_stride = token_stride;
  d.head_stride = head_stride;
  d.positions = {buf.handle(), pos_off};
  d.cos_table = {buf.handle(), cos_off};
  d.sin_table = {buf.handle(), sin_off};
  WriteMask mask(buf.size());
  for (uint64_t tk = 0; tk < tokens; ++tk)
    for (uint64_t h = 0; h < heads; ++h) mask.allow(d.offset + (tk * token_stride + h * head_stride) * eb, dim * eb);
  const auto before = buf.snapshot();
  std::string error;
  ASSERT_EQ(rope(d, &error), DSHAL_OK) << error;
  mask.expect_only_allowed_changed(buf, before);

  Compare cmp(t, 5e-7);
  for (uint64_t tk = 0; tk < tokens; ++tk)
    for (uint64_t h = 0; h < heads; ++h)
      for (uint64_t i = 0; i < half; ++i) {
        const double c = cs[uint64_t(pos[tk]) * half + i], s = sn[uint64_t(pos[tk]) * half + i];
        const double x0 = x[(tk * heads + h) * dim + 2 * i], x1 = x[(tk * heads + h) * dim + 2 * i + 1];
        const uint64_t e = tk * token_stride + h * head_stride + 2 * i;
        cmp.add(get(buf.data() + d.offset, t, e), x0 * c - x1 * s, {tk, h, 2 * i});
        cmp.add(get(buf.data() + d.offset, t, e + 1), x1 * c + x0 * s, {tk, h, 2 * i + 1});
      }
  cmp.expect_ok();
}

TEST(Rope, F32MlaLayout) {  // q_pe: 16 rotated dims after 24 nope dims, padded strides
  run_rope(DSHAL_DTYPE_F32, 11, 3, 16, 50, 24, 41, 3 * 41 + 5);
}
TEST(Rope, Bf16SingleHeadKeyLayout) {  // k_pe after the kv_lora latent, one head
  run_rope(DSHAL_DTYPE_BF16, 13, 1, 64, 4096, 512, 576, 576);
}
TEST(Rope, F16) { run_rope(DSHAL_DTYPE_F16, 4, 5, 2, 7, 0, 2, 11); }

TEST(Rope, PositionOutOfRangeIsAnError) {
  Buffer buf(1024);
  buf.as<int32_t>(512)[0] = 0;
  buf.as<int32_t>(512)[1] = 7;  // max_position 7
  dshal_rope_desc d{};
  d.struct_size = sizeof d;
  d.tokens = 2;
  d.heads = 1;
  d.dim = 2;
  d.max_position = 7;
  d.buffer = buf.handle();
  d.dtype = DSHAL_DTYPE_F32;
  d.token_stride = 2;
  d.head_stride = 2;
  d.positions = {buf.handle(), 512};
  d.cos_table = {buf.handle(), 600};
  d.sin_table = {buf.handle(), 700};
  const auto before = buf.snapshot();
  std::string error;
  EXPECT_EQ(rope(d, &error), DSHAL_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(error.find("positions[1] = 7"), std::string::npos) << error;
  EXPECT_TRUE(buf.snapshot() == before);
}

// ---- softmax --------------------------------------------------------------------------------------

void run_softmax(dshal_dtype xt, dshal_dtype ot, uint64_t rows, uint64_t cols, uint64_t ld_x, uint64_t ld_out,
                 bool alias, float scale, bool causal, uint64_t period, uint64_t offset) {
  SCOPED_TRACE(cat("softmax ", dtype_name(xt), "->", dtype_name(ot), " ", rows, "x", cols, causal ? " causal" : "",
                   alias ? " aliased" : ""));
  const uint64_t x_off = 8, out_off = alias ? x_off : after(x_off + rows * ld_x * dtype_bytes(xt));
  const dshal_dtype out_type = alias ? xt : ot;
  const uint64_t ld_o = alias ? ld_x : ld_out;
  Buffer buf(out_off + rows * ld_o * dtype_bytes(out_type) + 8);
  std::vector<double> x(rows * cols);
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t c = 0; c < cols; ++c) x[r * cols + c] = put(buf.data() + x_off, xt, r * ld_x + c, uniform(-8, 8));

  dshal_softmax_desc d{};
  d.struct_size = sizeof d;
  d.rows = rows;
  d.cols = cols;
  d.scale = scale;
  d.causal = causal;
  d.row_period = period;
  d.causal_offset = offset;
  d.x = {buf.handle(), x_off, xt, ld_x};
  d.out = {buf.handle(), out_off, out_type, ld_o};
  WriteMask mask(buf.size());
  mask.allow_rows(out_off, rows, cols, ld_o, dtype_bytes(out_type));
  const auto before = buf.snapshot();
  std::string error;
  ASSERT_EQ(softmax(d, &error), DSHAL_OK) << error;
  mask.expect_only_allowed_changed(buf, before);

  Compare cmp(out_type, 5e-7);
  for (uint64_t r = 0; r < rows; ++r) {
    const uint64_t i = r % period;
    std::vector<double> p(cols, 0.0);
    double mx = -INFINITY, sum = 0;
    for (uint64_t c = 0; c < cols; ++c)
      if (!causal || c <= i + offset) mx = std::max(mx, double(scale) * x[r * cols + c]);
    for (uint64_t c = 0; c < cols; ++c)
      if (!causal || c <= i + offset) sum += p[c] = std::exp(double(scale) * x[r * cols + c] - mx);
    for (uint64_t c = 0; c < cols; ++c) {
      const double got = get(buf.data() + out_off, out_type, r * ld_o + c);
      if (causal && c > i + offset) {
        EXPECT_EQ(got, 0.0) << "masked [" << r << "][" << c << "]";
      }
      cmp.add(got, p[c] / sum, {r, c});
    }
  }
  cmp.expect_ok();
}

TEST(Softmax, F32Strided) { run_softmax(DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, 6, 37, 40, 39, false, 0.3f, false, 6, 0); }
TEST(Softmax, F32Wide) { run_softmax(DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, 3, 5000, 5000, 5003, false, 0.125f, false, 3, 0); }
TEST(Softmax, CausalWithPeriodAndOffset) {  // two heads of 4 queries, 2 cached keys before them
  run_softmax(DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, 8, 9, 9, 11, false, 0.7f, true, 4, 2);
}
TEST(Softmax, CausalOffsetPastTheEnd) { run_softmax(DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, 4, 5, 5, 5, false, 1.0f, true, 4, 100); }
TEST(Softmax, Bf16AliasedCausal) { run_softmax(DSHAL_DTYPE_BF16, DSHAL_DTYPE_BF16, 10, 17, 20, 0, true, 0.5f, true, 5, 0); }
TEST(Softmax, F16InF32Out) { run_softmax(DSHAL_DTYPE_F16, DSHAL_DTYPE_F32, 5, 33, 33, 34, false, 1.0f, false, 5, 0); }
TEST(Softmax, F32Aliased) { run_softmax(DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, 7, 70, 71, 0, true, 2.0f, false, 7, 0); }

// ---- silu_mul -------------------------------------------------------------------------------------

void run_silu_mul(dshal_dtype gt, dshal_dtype ut, dshal_dtype ot, uint64_t rows, uint64_t cols, bool alias_gate) {
  SCOPED_TRACE(cat("silu_mul gate ", dtype_name(gt), " up ", dtype_name(ut), " out ", dtype_name(ot),
                   alias_gate ? " out aliases gate" : ""));
  const uint64_t ld_g = cols + 3, ld_u = cols + 1, ld_o = alias_gate ? ld_g : cols + 2;
  const uint64_t g_off = 0, u_off = after(rows * ld_g * dtype_bytes(gt));
  const uint64_t o_off = alias_gate ? g_off : after(u_off + rows * ld_u * dtype_bytes(ut));
  const dshal_dtype out_type = alias_gate ? gt : ot;
  Buffer buf(std::max(o_off + rows * ld_o * dtype_bytes(out_type), u_off + rows * ld_u * dtype_bytes(ut)) + 8);
  std::vector<double> g(rows * cols), u(rows * cols);
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t c = 0; c < cols; ++c) {
      g[r * cols + c] = put(buf.data() + g_off, gt, r * ld_g + c, uniform(-12, 12));
      u[r * cols + c] = put(buf.data() + u_off, ut, r * ld_u + c, uniform(-2, 2));
    }
  dshal_silu_mul_desc d{};
  d.struct_size = sizeof d;
  d.rows = rows;
  d.cols = cols;
  d.gate = {buf.handle(), g_off, gt, ld_g};
  d.up = {buf.handle(), u_off, ut, ld_u};
  d.out = {buf.handle(), o_off, out_type, ld_o};
  WriteMask mask(buf.size());
  mask.allow_rows(o_off, rows, cols, ld_o, dtype_bytes(out_type));
  const auto before = buf.snapshot();
  std::string error;
  ASSERT_EQ(silu_mul(d, &error), DSHAL_OK) << error;
  mask.expect_only_allowed_changed(buf, before);
  Compare cmp(out_type, 5e-7);
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t c = 0; c < cols; ++c) {
      const double gv = g[r * cols + c];
      cmp.add(get(buf.data() + o_off, out_type, r * ld_o + c), gv / (1.0 + std::exp(-gv)) * u[r * cols + c],
              {r, c});
    }
  cmp.expect_ok();
}

TEST(SiluMul, F32) { run_silu_mul(DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, 5, 2049, false); }
TEST(SiluMul, Bf16) { run_silu_mul(DSHAL_DTYPE_BF16, DSHAL_DTYPE_BF16, DSHAL_DTYPE_BF16, 7, 99, false); }
TEST(SiluMul, MixedTypes) { run_silu_mul(DSHAL_DTYPE_BF16, DSHAL_DTYPE_F32, DSHAL_DTYPE_F16, 3, 40, false); }
TEST(SiluMul, OutAliasesGate) {
  for (dshal_dtype t : kActTypes) run_silu_mul(t, DSHAL_DTYPE_F32, t, 4, 37, true);
}

}  // namespace
}  // namespace dshal::host::test
