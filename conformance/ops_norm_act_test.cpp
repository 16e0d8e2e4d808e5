// ops tier: rms_norm, silu_mul, softmax, elementwise and rope against fp64 references written here;
// guard bytes around every output, strided views whose padding must stay untouched, and the
// aliasing the ABI allows (out == x).
//
// Tolerances: each op is specified "computed in f32"; a bound is the first-order f32 rounding error
// of that computation (u = 2^-24 per rounding, sums of n terms n * u * sum|terms|), doubled, plus
// the rounding of the output type (2^-24 f32, 2^-8 bf16, 2^-11 f16 relative; 2^-25 absolute for f16
// subnormals). Each op's derivation is next to its test.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "case_util.hpp"
#include "harness.hpp"
#include "host/dtype.hpp"

namespace dshal::conformance {
namespace {

// Padding columns [cols, ld) of each of rows rows must be as before.
void expect_padding_untouched(const std::vector<float>& before, const std::vector<float>& after, uint64_t rows,
                              uint64_t cols, uint64_t ld) {
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t c = cols; c < ld; ++c)
      ASSERT_TRUE(same_bits(before[r * ld + c], after[r * ld + c])) << "padding of row " << r << " col " << c << " was written";
}

// ------------------------------------------------------------------------------------------------
// rms_norm: out = x / sqrt(mean(x^2) + eps) * w in f32. The sum of squares (positive terms) is off
// by at most (cols + 1) u relative; sqrt halves that; mean, + eps, sqrt, divide and * w add five
// roundings: |err| <= ((cols + 1) / 2 + 6) u |ref|, doubled: (cols + 14) u |ref|, + output rounding.

struct NormCase {
  const char* name;
  uint64_t rows, cols;
  dshal_dtype xt, wt, ot;
  uint64_t x_pad, out_pad;
  float eps;
  bool alias;     // out is x (same buffer, offset, ld)
  bool zero_row;  // row 0 is all zeros
};

const std::vector<NormCase>& norm_cases() {
  static const std::vector<NormCase> v = {
      {"f32_4x64", 4, 64, F32, F32, F32, 0, 0, 1e-6f, false, false},
      {"f32_odd_padded", 5, 1000, F32, F32, F32, 3, 10, 1e-6f, false, false},
      {"bf16", 6, 512, BF16, BF16, BF16, 0, 0, 1e-6f, false, false},
      {"f16_x_f32_w", 3, 96, F16, F32, F16, 1, 2, 1e-5f, false, false},
      {"bf16_x_f32_out", 7, 300, BF16, F32, F32, 0, 4, 1e-6f, false, false},
      {"eps_inside_sqrt", 4, 50, F32, F32, F32, 0, 0, 0.5f, false, false},
      {"zero_row", 3, 40, F32, BF16, F32, 0, 0, 1e-6f, false, true},
      {"cols_1", 9, 1, F32, F32, F32, 2, 0, 1e-6f, false, false},
      {"alias_f32_padded", 5, 257, F32, F32, F32, 7, 7, 1e-6f, true, false},
      {"alias_bf16", 4, 130, BF16, BF16, BF16, 0, 0, 1e-6f, true, false},
      // DeepSeek-V3 hidden 7168: the residual stream in f32, bf16 weight and output; and in place.
      {"ds_7168_f32_to_bf16", 16, 7168, F32, BF16, BF16, 0, 0, 1e-6f, false, false},
      {"ds_7168_bf16_alias", 16, 7168, BF16, BF16, BF16, 0, 0, 1e-6f, true, false},
  };
  return v;
}

using NormParam = std::tuple<std::string, NormCase>;
class RmsNorm : public testing::TestWithParam<NormParam> {};

TEST_P(RmsNorm, MatchesFp64Reference) {
  const auto& [id, g] = GetParam();
  if (auto why = missing_storage(device(id), {g.xt, g.wt, g.ot}); !why.empty()) GTEST_SKIP() << why;
  const uint64_t ldx = g.cols + g.x_pad, ldo = g.alias ? ldx : g.cols + g.out_pad;
  std::vector<float> x = random_values(g.rows * ldx, 1, g.xt);
  if (g.zero_row) std::fill(x.begin(), x.begin() + g.cols, 0.0f);
  const std::vector<float> w = random_values(g.cols, 2, g.wt);
  Buffer W = upload_as(id, w, g.wt);
  Buffer X;
  GuardedInit out(id, g.alias ? x : random_values(g.rows * ldo, 3, g.ot), g.ot);
  auto d = desc<dshal_rms_norm_desc>();
  d.rows = g.rows;
  d.cols = g.cols;
  d.eps = g.eps;
  if (g.alias) {
    d.x = out.view(g.xt, ldx);
  } else {
    X = upload_as(id, x, g.xt);
    d.x = tensor(X, g.xt, ldx);
  }
  d.weight = tensor(W, g.wt, 0);
  d.out = out.view(g.ot, ldo);
  DSHAL_ASSERT_OK(stream(id).rms_norm(d));
  DSHAL_ASSERT_OK(stream(id).synchronize());
  const std::vector<float> got_all = decode(out.buf.read_checked(), g.ot);

  std::vector<double> ref, bound;
  std::vector<float> got;
  for (uint64_t r = 0; r < g.rows; ++r) {
    double ss = 0;
    for (uint64_t c = 0; c < g.cols; ++c) ss += double(x[r * ldx + c]) * x[r * ldx + c];
    const double inv = 1.0 / std::sqrt(ss / double(g.cols) + double(g.eps));
    for (uint64_t c = 0; c < g.cols; ++c) {
      const double v = double(x[r * ldx + c]) * inv * double(w[c]);
      ref.push_back(v);
      bound.push_back(double(g.cols + 14) * kU * std::fabs(v) + out_rounding(g.ot) * std::fabs(v) + out_abs(g.ot));
      got.push_back(got_all[r * ldo + c]);
    }
  }
  expect_within(compare(ref, got, bound), fmt::format("rms_norm {}", g.name));
  expect_padding_untouched(out.v0, got_all, g.rows, g.cols, ldo);
}

INSTANTIATE_TEST_SUITE_P(ops, RmsNorm, testing::Combine(testing::ValuesIn(device_ids()), testing::ValuesIn(norm_cases())),
                         case_name<NormCase>);

// ------------------------------------------------------------------------------------------------
// silu_mul: out = g / (1 + exp(-g)) * up in f32. exp is allowed (2 + |g|) ulps (fast hardware exp
// grows with |g|); 1 + e, the division and * up add three roundings (1 + e cannot amplify e's
// relative error): |err| <= (2 + |g| + 4) u |ref|, doubled, + output rounding; plus 2^-100 absolute
// where the true result is below f32's normal range (silu(-100) ~ -4e-42 is 0 in f32 arithmetic).

struct SiluCase {
  const char* name;
  uint64_t rows, cols;
  dshal_dtype gt, ut, ot;
  uint64_t pad;   // extra elements per row of every operand
  bool fused;     // gate and up are halves of one [rows][2 * cols] matrix (DeepSeek's gate_up output)
  float range;    // gate values in [-range, range)
  bool extremes;  // row 0 starts with +-20, +-88.5, +-100, +-1000
};

const std::vector<SiluCase>& silu_cases() {
  static const std::vector<SiluCase> v = {
      {"f32_7x333_padded", 7, 333, F32, F32, F32, 3, false, 8, false},
      {"bf16", 5, 256, BF16, BF16, BF16, 0, false, 8, false},
      {"mixed_f32_bf16_to_f16", 4, 100, F32, BF16, F16, 1, false, 4, false},
      {"f16", 3, 64, F16, F16, F16, 0, false, 8, false},
      {"extreme_gates_f32", 2, 16, F32, F32, F32, 0, false, 8, true},
      {"fused_gate_up_f32", 6, 96, F32, F32, F32, 0, true, 8, false},
      {"ds_fused_16x2048_bf16", 16, 2048, BF16, BF16, BF16, 0, true, 8, false},
  };
  return v;
}

using SiluParam = std::tuple<std::string, SiluCase>;
class SiluMul : public testing::TestWithParam<SiluParam> {};

TEST_P(SiluMul, MatchesFp64Reference) {
  const auto& [id, g] = GetParam();
  if (auto why = missing_storage(device(id), {g.gt, g.ut, g.ot}); !why.empty()) GTEST_SKIP() << why;
  const uint64_t ld = g.fused ? 2 * g.cols + g.pad : g.cols + g.pad;
  std::vector<float> gate = random_values(g.rows * ld, 4), up = random_values(g.rows * ld, 5, g.ut);
  for (float& x : gate) x *= g.range;
  if (g.extremes) {
    const float ex[] = {20, -20, 88.5f, -88.5f, 100, -100, 1000, -1000};
    std::copy(std::begin(ex), std::end(ex), gate.begin());
  }
  gate = decode(encode(gate, g.gt), g.gt);  // the values the device sees
  const uint64_t up_col0 = g.fused ? g.cols : 0;
  Buffer G, U;
  auto d = desc<dshal_silu_mul_desc>();
  d.rows = g.rows;
  d.cols = g.cols;
  if (g.fused) {  // one matrix (gt == ut): gate in columns [0, cols), up in [cols, 2 cols)
    for (uint64_t r = 0; r < g.rows; ++r)
      for (uint64_t c = 0; c < g.cols; ++c) gate[r * ld + g.cols + c] = up[r * ld + g.cols + c];
    up = gate;
    G = upload_as(id, gate, g.gt);
    d.gate = tensor(G, g.gt, ld);
    d.up = tensor(G, g.ut, ld, storage_bytes(g.ut, g.cols));
  } else {
    G = upload_as(id, gate, g.gt);
    U = upload_as(id, up, g.ut);
    d.gate = tensor(G, g.gt, ld);
    d.up = tensor(U, g.ut, ld);
  }
  const uint64_t ldo = g.cols + g.pad;
  GuardedInit out(id, random_values(g.rows * ldo, 6, g.ot), g.ot);
  d.out = out.view(g.ot, ldo);
  DSHAL_ASSERT_OK(stream(id).silu_mul(d));
  DSHAL_ASSERT_OK(stream(id).synchronize());
  const std::vector<float> got_all = decode(out.buf.read_checked(), g.ot);

  std::vector<double> ref, bound;
  std::vector<float> got;
  for (uint64_t r = 0; r < g.rows; ++r)
    for (uint64_t c = 0; c < g.cols; ++c) {
      const double gv = gate[r * ld + c], uv = up[r * ld + up_col0 + c];
      const double v = gv / (1.0 + std::exp(-gv)) * uv;
      ref.push_back(v);
      bound.push_back(2.0 * (6.0 + std::fabs(gv)) * kU * std::fabs(v) + out_rounding(g.ot) * std::fabs(v) + out_abs(g.ot) +
                      0x1p-100);
      got.push_back(got_all[r * ldo + c]);
    }
  expect_within(compare(ref, got, bound), fmt::format("silu_mul {}", g.name));
  expect_padding_untouched(out.v0, got_all, g.rows, g.cols, ldo);
}

INSTANTIATE_TEST_SUITE_P(ops, SiluMul, testing::Combine(testing::ValuesIn(device_ids()), testing::ValuesIn(silu_cases())),
                         case_name<SiluCase>);

// ------------------------------------------------------------------------------------------------
// softmax: out[r][c] = softmax_c(scale * x[r][c]), causal rows mask c > r % row_period + offset.
// With A = max_c |scale * x[r][c]|: scale * x rounds by u A, subtracting the row max by 2 u A more
// (an absolute error d of the exponent is a relative error d of exp), exp itself a few ulps (4 u),
// the row sum (cols terms, all positive) cols u relative, the division u:
//   |err| <= (6 A + cols + 6) u p, doubled: 2 (6 A + cols + 6) u p, + output rounding.
// Plus 2^-126 absolute for results below f32's normal range (an exp that flushes to 0). Masked
// entries must be exactly 0.

struct SoftmaxCase {
  const char* name;
  uint64_t rows, cols;
  dshal_dtype xt, ot;
  float scale;
  uint32_t causal;
  uint64_t row_period, causal_offset;
  uint64_t x_pad, out_pad;
  bool alias;
};

const std::vector<SoftmaxCase>& softmax_cases() {
  static const std::vector<SoftmaxCase> v = {
      {"f32_6x37", 6, 37, F32, F32, 1, 0, 0, 0, 0, 0, false},
      {"f32_scaled_padded", 5, 100, F32, F32, 0.125f, 0, 0, 0, 3, 5, false},
      {"needs_max_shift_scale_100", 4, 33, F32, F32, 100, 0, 0, 0, 0, 0, false},
      {"cols_1", 3, 1, F32, F32, 1, 0, 0, 0, 0, 0, false},
      {"causal_3heads_4q_offset5", 12, 9, F32, F32, 1.5f, 1, 4, 5, 0, 0, false},
      {"causal_square_2heads", 16, 8, F32, F32, 1, 1, 8, 0, 2, 1, false},
      {"causal_offset_past_cols", 6, 5, F32, F32, 1, 1, 3, 10, 0, 0, false},
      {"bf16_alias", 7, 50, BF16, BF16, 2, 0, 0, 0, 0, 0, true},
      {"f32_alias_causal_padded", 8, 20, F32, F32, 1, 1, 4, 16, 4, 4, true},
      {"f32_to_f16", 5, 64, F32, F16, 3, 0, 0, 0, 0, 0, false},
      {"bf16_to_f32", 5, 64, BF16, F32, 3, 0, 0, 0, 0, 0, false},
      // A decode step's scores: 128 heads over 4096 keys.
      {"ds_decode_128x4096", 128, 4096, F32, F32, 0.1352f, 0, 0, 0, 0, 0, false},
  };
  return v;
}

using SoftmaxParam = std::tuple<std::string, SoftmaxCase>;
class Softmax : public testing::TestWithParam<SoftmaxParam> {};

TEST_P(Softmax, MatchesFp64Reference) {
  const auto& [id, g] = GetParam();
  if (auto why = missing_storage(device(id), {g.xt, g.ot}); !why.empty()) GTEST_SKIP() << why;
  const uint64_t ldx = g.cols + g.x_pad, ldo = g.alias ? ldx : g.cols + g.out_pad;
  const std::vector<float> x = random_values(g.rows * ldx, 7, g.xt);
  Buffer X;
  GuardedInit out(id, g.alias ? x : random_values(g.rows * ldo, 8, g.ot), g.ot);
  auto d = desc<dshal_softmax_desc>();
  d.rows = g.rows;
  d.cols = g.cols;
  d.scale = g.scale;
  d.causal = g.causal;
  d.row_period = g.row_period;
  d.causal_offset = g.causal_offset;
  if (g.alias) {
    d.x = out.view(g.xt, ldx);
  } else {
    X = upload_as(id, x, g.xt);
    d.x = tensor(X, g.xt, ldx);
  }
  d.out = out.view(g.ot, ldo);
  DSHAL_ASSERT_OK(stream(id).softmax(d));
  DSHAL_ASSERT_OK(stream(id).synchronize());
  const std::vector<float> got_all = decode(out.buf.read_checked(), g.ot);

  std::vector<double> ref, bound;
  std::vector<float> got;
  for (uint64_t r = 0; r < g.rows; ++r) {
    const uint64_t last = g.causal ? std::min<uint64_t>(g.cols - 1, r % g.row_period + g.causal_offset) : g.cols - 1;
    double mx = -INFINITY, amax = 0, sum = 0;
    for (uint64_t c = 0; c <= last; ++c) mx = std::max(mx, double(g.scale) * x[r * ldx + c]);
    for (uint64_t c = 0; c <= last; ++c) amax = std::max(amax, std::fabs(double(g.scale) * x[r * ldx + c]));
    for (uint64_t c = 0; c <= last; ++c) sum += std::exp(double(g.scale) * x[r * ldx + c] - mx);
    for (uint64_t c = 0; c < g.cols; ++c) {
      const double p = c <= last ? std::exp(double(g.scale) * x[r * ldx + c] - mx) / sum : 0.0;
      ref.push_back(p);
      bound.push_back(2.0 * (6.0 * amax + double(g.cols) + 6.0) * kU * p + out_rounding(g.ot) * p +
                      (c <= last ? out_abs(g.ot) + 0x1p-126 : 0.0));
      got.push_back(got_all[r * ldo + c]);
    }
  }
  expect_within(compare(ref, got, bound), fmt::format("softmax {}", g.name));
  expect_padding_untouched(out.v0, got_all, g.rows, g.cols, ldo);
}

INSTANTIATE_TEST_SUITE_P(ops, Softmax, testing::Combine(testing::ValuesIn(device_ids()), testing::ValuesIn(softmax_cases())),
                         case_name<SoftmaxCase>);

// ------------------------------------------------------------------------------------------------
// elementwise: ADD / MUL / SCALE in f32 are one correctly rounded operation (u |ref|), then the
// rounding to the output type; CAST is only the output rounding, and exact when the output type
// holds the input's values (a widening or same-type cast).

struct EltCase {
  const char* name;
  dshal_elementwise_op op;
  dshal_dtype at, bt, ot;
  uint64_t n;
  float alpha;
  int alias;  // 0: none, 1: out is a, 2: out is b
};

constexpr auto ADD = DSHAL_ELEMENTWISE_ADD, MUL = DSHAL_ELEMENTWISE_MUL, SCALE = DSHAL_ELEMENTWISE_SCALE,
               CAST = DSHAL_ELEMENTWISE_CAST;

const std::vector<EltCase>& elt_cases() {
  static const std::vector<EltCase> v = {
      {"add_f32_n1", ADD, F32, F32, F32, 1, 0, 0},
      {"add_f32_4099", ADD, F32, F32, F32, 4099, 0, 0},
      {"add_bf16", ADD, BF16, BF16, BF16, 1001, 0, 0},
      {"add_f16", ADD, F16, F16, F16, 1001, 0, 0},
      {"add_f32_bf16_to_f16", ADD, F32, BF16, F16, 777, 0, 0},
      {"add_bf16_f16_to_f32", ADD, BF16, F16, F32, 777, 0, 0},
      {"add_f32_alias_a_big", ADD, F32, F32, F32, 100003, 0, 1},
      {"add_bf16_alias_b", ADD, BF16, BF16, BF16, 3001, 0, 2},
      {"mul_f32", MUL, F32, F32, F32, 4097, 0, 0},
      {"mul_bf16", MUL, BF16, BF16, BF16, 1001, 0, 0},
      {"mul_f16_f32_to_bf16", MUL, F16, F32, BF16, 515, 0, 0},
      {"mul_bf16_alias_b", MUL, BF16, BF16, BF16, 999, 0, 2},
      {"scale_f32", SCALE, F32, F32, F32, 4099, 0.37f, 0},
      {"scale_bf16", SCALE, BF16, F32, BF16, 1001, -2.5f, 0},
      {"scale_f16_to_f32", SCALE, F16, F32, F32, 333, 16.0f, 0},
      {"scale_f16_alias_a", SCALE, F16, F32, F16, 1025, 0.1f, 1},
      {"cast_f32_to_bf16", CAST, F32, F32, BF16, 4099, 0, 0},
      {"cast_f32_to_f16", CAST, F32, F32, F16, 4099, 0, 0},
      {"cast_bf16_to_f32", CAST, BF16, F32, F32, 1001, 0, 0},
      {"cast_f16_to_f32", CAST, F16, F32, F32, 1001, 0, 0},
      {"cast_bf16_to_f16", CAST, BF16, F32, F16, 1001, 0, 0},
      {"cast_f16_to_bf16", CAST, F16, F32, BF16, 1001, 0, 0},
      {"cast_f32_to_f32", CAST, F32, F32, F32, 17, 0, 0},
  };
  return v;
}

using EltParam = std::tuple<std::string, EltCase>;
class Elementwise : public testing::TestWithParam<EltParam> {};

TEST_P(Elementwise, MatchesFp64Reference) {
  const auto& [id, g] = GetParam();
  const bool binary = g.op == ADD || g.op == MUL;
  if (auto why = missing_storage(device(id), {g.at, binary ? g.bt : g.at, g.ot}); !why.empty()) GTEST_SKIP() << why;
  std::vector<float> a = random_values(g.n, 9, g.at), b = random_values(g.n, 10, g.bt);
  if (g.op == CAST) {  // spread the magnitudes: many binades, tiny and large values (within f16's range)
    for (uint64_t i = 0; i < g.n; ++i) a[i] = decode(encode({std::ldexp(a[i], int(i % 24) - 12)}, g.at), g.at)[0];
  }
  Buffer A, B;
  GuardedInit out(id, g.alias == 1 ? a : g.alias == 2 ? b : random_values(g.n, 11, g.ot), g.ot);
  auto d = desc<dshal_elementwise_desc>();
  d.op = g.op;
  d.n = g.n;
  d.alpha = g.alpha;
  if (g.alias == 1) {
    d.a = out.view(g.at, 0);
  } else {
    A = upload_as(id, a, g.at);
    d.a = tensor(A, g.at, 0);
  }
  if (binary) {
    if (g.alias == 2) {
      d.b = out.view(g.bt, 0);
    } else {
      B = upload_as(id, b, g.bt);
      d.b = tensor(B, g.bt, 0);
    }
  }
  d.out = out.view(g.ot, 0);
  DSHAL_ASSERT_OK(stream(id).elementwise(d));
  DSHAL_ASSERT_OK(stream(id).synchronize());
  const std::vector<float> got = decode(out.buf.read_checked(), g.ot);

  const bool exact_cast = g.op == CAST && (g.ot == F32 || g.ot == g.at);
  std::vector<double> ref(g.n), bound(g.n);
  for (uint64_t i = 0; i < g.n; ++i) {
    const double av = a[i], bv = b[i];
    ref[i] = g.op == ADD ? av + bv : g.op == MUL ? av * bv : g.op == SCALE ? double(g.alpha) * av : av;
    const double r = std::fabs(ref[i]);
    bound[i] = exact_cast ? 0.0 : (g.op == CAST ? 0.0 : kU * r) + out_rounding(g.ot) * r + out_abs(g.ot);
  }
  expect_within(compare(ref, got, bound), fmt::format("elementwise {}", g.name));
}

INSTANTIATE_TEST_SUITE_P(ops, Elementwise, testing::Combine(testing::ValuesIn(device_ids()), testing::ValuesIn(elt_cases())),
                         case_name<EltCase>);

// ------------------------------------------------------------------------------------------------
// rope, in place on interleaved pairs. x0' = x0 c - x1 s rounds two products and a difference:
// |err| <= 3 u (|x0 c| + |x1 s|), doubled, + output rounding. Elements outside the rotated part
// (the "nope" columns of a DeepSeek head, padding) must keep their bits.

struct RopeCase {
  const char* name;
  uint64_t tokens, heads, dim;
  uint64_t width;      // elements per head (head_stride)
  uint64_t rot_start;  // first rotated element within a head
  uint64_t token_pad;  // token_stride = heads * width + token_pad
  dshal_dtype t;
  uint64_t max_position;
  bool real_tables;  // cos / sin of theta = 10000 frequencies; otherwise independent random tables
};

const std::vector<RopeCase>& rope_cases() {
  static const std::vector<RopeCase> v = {
      {"f32_contiguous", 5, 3, 16, 16, 0, 0, F32, 64, false},
      {"f32_token_pad", 4, 2, 8, 8, 0, 5, F32, 16, false},
      {"dim_2", 3, 2, 2, 2, 0, 0, F32, 8, false},
      {"f16_strided", 3, 2, 32, 40, 4, 3, F16, 32, false},
      {"bf16_strided", 6, 5, 16, 24, 8, 0, BF16, 100, false},
      // DeepSeek: q heads of 192 = nope 128 + rope 64; the latent row k_pe = columns 512..575 of 576.
      {"ds_q_rope_f32", 6, 4, 64, 192, 128, 0, F32, 4096, true},
      {"ds_q_rope_bf16_128heads", 16, 128, 64, 192, 128, 0, BF16, 4096, true},
      {"ds_k_pe_bf16", 33, 1, 64, 576, 512, 0, BF16, 4096, true},
  };
  return v;
}

using RopeParam = std::tuple<std::string, RopeCase>;
class Rope : public testing::TestWithParam<RopeParam> {};

TEST_P(Rope, MatchesFp64Reference) {
  const auto& [id, g] = GetParam();
  if (auto why = missing_storage(device(id), {g.t}); !why.empty()) GTEST_SKIP() << why;
  const uint64_t ts = g.heads * g.width + g.token_pad, half = g.dim / 2;
  const std::vector<float> x = random_values(g.tokens * ts, 12, g.t);
  std::vector<float> cos_t(g.max_position * half), sin_t(g.max_position * half);
  if (g.real_tables) {
    for (uint64_t p = 0; p < g.max_position; ++p)
      for (uint64_t i = 0; i < half; ++i) {
        const double ang = double(p) * std::pow(10000.0, -2.0 * double(i) / double(g.dim));
        cos_t[p * half + i] = float(std::cos(ang));
        sin_t[p * half + i] = float(std::sin(ang));
      }
  } else {
    cos_t = random_values(g.max_position * half, 13);
    sin_t = random_values(g.max_position * half, 14);
  }
  // Positions: not monotonic, repeated, both ends of the table.
  std::vector<int32_t> pos(g.tokens);
  const std::vector<float> pr = random_values(g.tokens, 15);
  for (uint64_t t = 0; t < g.tokens; ++t) pos[t] = int32_t(std::min<double>(g.max_position - 1, (pr[t] + 1) / 2 * g.max_position));
  pos[0] = int32_t(g.max_position - 1);
  if (g.tokens > 1) pos[1] = 0;
  if (g.tokens > 3) pos[3] = pos[2];

  GuardedInit xb(id, x, g.t);
  Buffer P = upload(id, pos), C = upload(id, cos_t), S = upload(id, sin_t);
  auto d = desc<dshal_rope_desc>();
  d.tokens = g.tokens;
  d.heads = g.heads;
  d.dim = g.dim;
  d.max_position = g.max_position;
  d.buffer = xb.buf.handle();
  d.offset = xb.buf.offset() + storage_bytes(g.t, g.rot_start);
  d.dtype = g.t;
  d.token_stride = ts;
  d.head_stride = g.width;
  d.positions = ref(P);
  d.cos_table = ref(C);
  d.sin_table = ref(S);
  DSHAL_ASSERT_OK(stream(id).rope(d));
  DSHAL_ASSERT_OK(stream(id).synchronize());
  const std::vector<float> after = decode(xb.buf.read_checked(), g.t);

  std::vector<bool> rotated(x.size(), false);
  std::vector<double> ref, bound;
  std::vector<float> got;
  for (uint64_t t = 0; t < g.tokens; ++t)
    for (uint64_t h = 0; h < g.heads; ++h)
      for (uint64_t i = 0; i < half; ++i) {
        const uint64_t e = t * ts + h * g.width + g.rot_start + 2 * i;
        const double x0 = x[e], x1 = x[e + 1], c = cos_t[pos[t] * half + i], s = sin_t[pos[t] * half + i];
        const double r0 = x0 * c - x1 * s, r1 = x1 * c + x0 * s;
        const double m0 = std::fabs(x0 * c) + std::fabs(x1 * s), m1 = std::fabs(x1 * c) + std::fabs(x0 * s);
        ref.insert(ref.end(), {r0, r1});
        bound.push_back(6 * kU * m0 + out_rounding(g.t) * std::fabs(r0) + out_abs(g.t));
        bound.push_back(6 * kU * m1 + out_rounding(g.t) * std::fabs(r1) + out_abs(g.t));
        got.insert(got.end(), {after[e], after[e + 1]});
        rotated[e] = rotated[e + 1] = true;
      }
  expect_within(compare(ref, got, bound), fmt::format("rope {}", g.name));
  for (uint64_t e = 0; e < x.size(); ++e)
    if (!rotated[e]) {
      ASSERT_TRUE(same_bits(x[e], after[e])) << "element " << e << " outside the rotated part changed";
    }
}

INSTANTIATE_TEST_SUITE_P(ops, Rope, testing::Combine(testing::ValuesIn(device_ids()), testing::ValuesIn(rope_cases())),
                         case_name<RopeCase>);

}  // namespace
}  // namespace dshal::conformance
