// Tests of the attention host op (MLA naive and absorbed) against an fp64 reference.
#include "host/ops/test_util.hpp"

#include <tbb/global_control.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

namespace dshal::host::test {
namespace {

struct AttnCase {
  dshal_attention_mode mode;
  uint64_t q_len, kv_len, heads, kv_heads, qk_dim, v_dim;
  bool causal;
  uint64_t q_offset;
  dshal_dtype qt = DSHAL_DTYPE_F32, kt = DSHAL_DTYPE_F32, vt = DSHAL_DTYPE_F32, ot = DSHAL_DTYPE_F32;
  bool v_aliases_k = false;  // ABSORBED: V = the first v_dim columns of K (same buffer, offset, strides)
  float score_std = 2.0f;    // scale is set so that scores have about this spread
};

struct AttnRun {
  std::vector<std::byte> out;  // the output region, bytes
  double max_err = 0;
};

// Layout: q [q_len][heads][qk_dim], k [kv_len][kv_heads][qk_dim], v [kv_len][kv_heads][v_dim] and
// out [q_len][heads][v_dim], each with padded head and token strides.
AttnRun run_attention(const AttnCase& c, bool check = true) {
  AttnRun result;
  const uint64_t q_hs = c.qk_dim + 3, q_ts = c.heads * q_hs + 5;
  const uint64_t k_hs = c.qk_dim + 1, k_ts = c.kv_heads * k_hs + 2;
  const uint64_t v_hs = c.v_dim + 2, v_ts = c.kv_heads * v_hs + 1;
  const uint64_t o_hs = c.v_dim + 1, o_ts = c.heads * o_hs + 3;
  const dshal_dtype vt = c.v_aliases_k ? c.kt : c.vt;
  const uint64_t q_off = 64;
  const uint64_t k_off = after(q_off + c.q_len * q_ts * dtype_bytes(c.qt), 64);
  const uint64_t v_off = c.v_aliases_k ? k_off : after(k_off + c.kv_len * k_ts * dtype_bytes(c.kt), 64);
  const uint64_t o_off = after(c.v_aliases_k ? k_off + c.kv_len * k_ts * dtype_bytes(c.kt)
                                             : v_off + c.kv_len * v_ts * dtype_bytes(vt), 64);
  Buffer buf(o_off + c.q_len * o_ts * dtype_bytes(c.ot) + 64);

  const uint64_t D = c.qk_dim, Dv = c.v_dim;
  std::vector<double> q(c.q_len * c.heads * D), k(c.kv_len * c.kv_heads * D), v(c.kv_len * c.kv_heads * Dv);
  for (uint64_t t = 0; t < c.q_len; ++t)
    for (uint64_t h = 0; h < c.heads; ++h)
      for (uint64_t i = 0; i < D; ++i)
        q[(t * c.heads + h) * D + i] = put(buf.data() + q_off, c.qt, t * q_ts + h * q_hs + i, uniform(-1, 1));
  for (uint64_t j = 0; j < c.kv_len; ++j)
    for (uint64_t g = 0; g < c.kv_heads; ++g) {
      for (uint64_t i = 0; i < D; ++i)
        k[(j * c.kv_heads + g) * D + i] = put(buf.data() + k_off, c.kt, j * k_ts + g * k_hs + i, uniform(-1, 1));
      for (uint64_t i = 0; i < Dv; ++i)
        v[(j * c.kv_heads + g) * Dv + i] = c.v_aliases_k ? k[(j * c.kv_heads + g) * D + i]
                                                         : put(buf.data() + v_off, vt, j * v_ts + g * v_hs + i, uniform(-1, 1));
    }
  const float scale = c.score_std * 3.0f / std::sqrt(float(std::max<uint64_t>(D, 1)));  // std(q.k) = sqrt(D) / 3

  dshal_attention_desc d{};
  d.struct_size = sizeof d;
  d.mode = c.mode;
  d.q_len = c.q_len;
  d.kv_len = c.kv_len;
  d.heads = c.heads;
  d.kv_heads = c.kv_heads;
  d.qk_dim = D;
  d.v_dim = Dv;
  d.scale = scale;
  d.causal = c.causal;
  d.q_offset = c.q_offset;
  d.q = {buf.handle(), q_off, c.qt, q_ts, q_hs};
  d.k = {buf.handle(), k_off, c.kt, k_ts, k_hs};
  d.v = c.v_aliases_k ? d.k : dshal_attention_view{buf.handle(), v_off, vt, v_ts, v_hs};
  d.out = {buf.handle(), o_off, c.ot, o_ts, o_hs};
  WriteMask mask(buf.size());
  for (uint64_t t = 0; t < c.q_len; ++t)
    for (uint64_t h = 0; h < c.heads; ++h) mask.allow(o_off + (t * o_ts + h * o_hs) * dtype_bytes(c.ot), Dv * dtype_bytes(c.ot));
  const auto before = buf.snapshot();
  std::string error;
  EXPECT_EQ(attention(d, &error), DSHAL_OK) << error;
  mask.expect_only_allowed_changed(buf, before);
  result.out.assign(buf.data() + o_off, buf.data() + buf.size());
  if (!check) return result;

  // f32 scores carry an absolute error of a few ulp of max |s|, which exp turns into a relative error
  // of the weights; out errs by about that times max |v| = 1. Hence the tolerance 5e-7 * (1 + max |s|)
  // absolute (the magnitude is taken as 1).
  Compare cmp(c.ot, 0.0);
  double max_score = 0;
  std::vector<double> s(c.kv_len);
  for (uint64_t t = 0; t < c.q_len; ++t)
    for (uint64_t h = 0; h < c.heads; ++h) {
      const uint64_t g = h * c.kv_heads / c.heads;
      const uint64_t visible = c.causal ? std::min(c.kv_len, t + c.q_offset + 1) : c.kv_len;
      double mx = -INFINITY;
      for (uint64_t j = 0; j < visible; ++j) {
        double dot = 0;
        for (uint64_t i = 0; i < D; ++i) dot += q[(t * c.heads + h) * D + i] * k[(j * c.kv_heads + g) * D + i];
        s[j] = double(scale) * dot;
        mx = std::max(mx, s[j]);
        max_score = std::max(max_score, std::fabs(s[j]));
      }
      double sum = 0;
      for (uint64_t j = 0; j < visible; ++j) sum += s[j] = std::exp(s[j] - mx);
      for (uint64_t i = 0; i < Dv; ++i) {
        double acc = 0;
        for (uint64_t j = 0; j < visible; ++j) acc += s[j] * v[(j * c.kv_heads + g) * Dv + i];
        cmp.add(get(buf.data() + o_off, c.ot, t * o_ts + h * o_hs + i), acc / sum, {t, h, i});
      }
    }
  cmp.add(1.0, 1.0, {});  // magnitude 1
  cmp.set_rel_tol(5e-7 * (1.0 + max_score));
  cmp.expect_ok();
  result.max_err = cmp.max_err();
  return result;
}

constexpr auto kNaive = DSHAL_ATTENTION_NAIVE;
constexpr auto kAbsorbed = DSHAL_ATTENTION_ABSORBED;

TEST(Attention, NaivePrefillCausal) {  // tiny-model shape: qk 16 + 16, v 24
  run_attention({kNaive, 9, 9, 4, 4, 32, 24, true, 0});
}
TEST(Attention, NaiveCausalWithCacheSeveralKeyBlocks) {
  run_attention({kNaive, 13, 150, 3, 3, 20, 35, true, 137});
}
TEST(Attention, NaiveDecodeOddDims) { run_attention({kNaive, 1, 333, 5, 5, 23, 17, true, 332}); }
TEST(Attention, NaiveNonCausal) { run_attention({kNaive, 6, 70, 2, 2, 192, 128, false, 0}); }
TEST(Attention, NaiveDecodeDeepSeekDims) { run_attention({kNaive, 1, 300, 16, 16, 192, 128, true, 299}); }
TEST(Attention, GroupedHeads) { run_attention({kNaive, 5, 80, 6, 2, 16, 16, true, 75}); }
TEST(Attention, GroupedHeadsDecode) { run_attention({kNaive, 1, 600, 8, 4, 24, 16, true, 599}); }
TEST(Attention, NaiveDecodeHeadsPackedWithSplits) {  // 12 one-row heads in 2 tasks, keys split in 4
  run_attention({kNaive, 1, 1100, 12, 12, 40, 24, true, 1099});
}
TEST(Attention, CausalQueriesBeforeTheirKeys) {  // q_offset 0, more keys than queries: later keys masked
  run_attention({kNaive, 4, 100, 2, 2, 8, 8, true, 0});
}

TEST(Attention, AbsorbedDecodeVAliasesK) {  // latent 64 + rope 8, V = latent
  run_attention({kAbsorbed, 1, 700, 16, 1, 72, 64, true, 699, DSHAL_DTYPE_F32, DSHAL_DTYPE_F32,
                 DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, true});
}
TEST(Attention, AbsorbedPrefillVAliasesK) {
  run_attention({kAbsorbed, 7, 40, 12, 1, 40, 33, true, 33, DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, DSHAL_DTYPE_F32,
                 DSHAL_DTYPE_F32, true});
}
TEST(Attention, AbsorbedSeparateV) { run_attention({kAbsorbed, 3, 130, 5, 1, 48, 32, true, 127}); }
TEST(Attention, AbsorbedDecodeDeepSeekDims) {  // 576 = 512 latent + 64 rope, 128 heads
  run_attention({kAbsorbed, 1, 520, 128, 1, 576, 512, true, 519, DSHAL_DTYPE_F32, DSHAL_DTYPE_F32,
                 DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, true});
}

TEST(Attention, Bf16) {
  run_attention({kNaive, 5, 90, 3, 3, 40, 24, true, 85, DSHAL_DTYPE_BF16, DSHAL_DTYPE_BF16, DSHAL_DTYPE_BF16,
                 DSHAL_DTYPE_BF16});
  run_attention({kAbsorbed, 1, 400, 16, 1, 72, 64, true, 399, DSHAL_DTYPE_BF16, DSHAL_DTYPE_BF16,
                 DSHAL_DTYPE_BF16, DSHAL_DTYPE_BF16, true});
  run_attention({kAbsorbed, 4, 66, 8, 1, 72, 64, true, 62, DSHAL_DTYPE_BF16, DSHAL_DTYPE_BF16,
                 DSHAL_DTYPE_BF16, DSHAL_DTYPE_F32, true});
}
TEST(Attention, MixedTypes) {
  run_attention({kNaive, 3, 50, 2, 2, 24, 20, true, 47, DSHAL_DTYPE_F32, DSHAL_DTYPE_BF16, DSHAL_DTYPE_F16,
                 DSHAL_DTYPE_F16});
}
TEST(Attention, F16Keys) {  // K neither f32 nor bf16: converted row by row before the transposition
  run_attention({kNaive, 9, 70, 2, 2, 24, 20, true, 61, DSHAL_DTYPE_F32, DSHAL_DTYPE_F16, DSHAL_DTYPE_F32,
                 DSHAL_DTYPE_F32});
  run_attention({kAbsorbed, 2, 90, 3, 1, 24, 20, false, 0, DSHAL_DTYPE_F16, DSHAL_DTYPE_F16, DSHAL_DTYPE_F16,
                 DSHAL_DTYPE_F16, true});
}
TEST(Attention, PeakySoftmax) {  // scores spread over ~60: exp underflows for most keys
  AttnCase c{kNaive, 4, 200, 2, 2, 32, 16, true, 196};
  c.score_std = 30.0f;
  run_attention(c);
}

TEST(Attention, ResultDoesNotDependOnThreadCount) {
  for (const AttnCase& c : {AttnCase{kAbsorbed, 1, 1500, 32, 1, 72, 64, true, 1499, DSHAL_DTYPE_F32,
                                     DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, true},
                            AttnCase{kNaive, 33, 300, 4, 4, 32, 24, true, 267}}) {
    const auto state = rng();
    AttnRun one;
    {
      tbb::global_control single(tbb::global_control::max_allowed_parallelism, 1);
      one = run_attention(c, false);
    }
    rng() = state;
    const AttnRun many = run_attention(c, false);
    EXPECT_TRUE(one.out == many.out);
  }
}

}  // namespace
}  // namespace dshal::host::test
