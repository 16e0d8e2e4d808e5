// Tests of the MoE host ops (moe_route, moe_permute, moe_unpermute) against fp64 references.
#include "host/ops/test_util.hpp"

#include <tbb/global_control.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace dshal::host::test {
namespace {

// ---- moe_route ------------------------------------------------------------------------------------

struct RouteCase {
  uint64_t tokens, experts, top_k;
  dshal_moe_scoring scoring;
  dshal_moe_topk_method method;
  uint64_t n_group, topk_group;
  bool norm;
  float scaling;
  bool with_bias;
};

struct RouteRef {
  std::vector<int32_t> ids;
  std::vector<double> weights;
};

// Hugging Face transformers' router (DeepseekV2 MoEGate / DeepseekV3 TopkRouter, fp64 here): groups not
// kept are filled with 0 before the top-k; torch.topk's order made deterministic (value desc, index asc).
RouteRef route_reference(const RouteCase& c, const std::vector<double>& logits, const std::vector<double>& bias) {
  RouteRef ref;
  const uint64_t E = c.experts;
  for (uint64_t t = 0; t < c.tokens; ++t) {
    const double* x = logits.data() + t * E;
    std::vector<double> scores(E), choice(E);
    if (c.scoring == DSHAL_MOE_SCORING_SOFTMAX) {
      const double mx = *std::max_element(x, x + E);
      double sum = 0;
      for (uint64_t e = 0; e < E; ++e) sum += scores[e] = std::exp(x[e] - mx);
      for (auto& s : scores) s /= sum;
    } else {
      for (uint64_t e = 0; e < E; ++e) scores[e] = 1.0 / (1.0 + std::exp(-x[e]));
    }
    for (uint64_t e = 0; e < E; ++e) choice[e] = scores[e] + (c.with_bias ? bias[e] : 0.0);
    const auto order = [](const std::vector<double>& v) {
      std::vector<uint64_t> idx(v.size());
      std::iota(idx.begin(), idx.end(), 0);
      std::stable_sort(idx.begin(), idx.end(), [&](uint64_t a, uint64_t b) { return v[a] > v[b]; });
      return idx;
    };
    if (c.method != DSHAL_MOE_TOPK_GREEDY) {
      const uint64_t gs = E / c.n_group;
      std::vector<double> group(c.n_group);
      for (uint64_t g = 0; g < c.n_group; ++g) {
        std::vector<double> members(choice.begin() + g * gs, choice.begin() + (g + 1) * gs);
        std::sort(members.rbegin(), members.rend());
        group[g] = c.method == DSHAL_MOE_TOPK_GROUP_LIMITED_GREEDY ? members[0] : members[0] + members[1];
      }
      const auto gorder = order(group);
      std::vector<bool> kept(c.n_group, false);
      for (uint64_t i = 0; i < c.topk_group; ++i) kept[gorder[i]] = true;
      for (uint64_t e = 0; e < E; ++e)
        if (!kept[e / gs]) choice[e] = c.method == DSHAL_MOE_TOPK_NOAUX_TC ? -INFINITY : 0.0;
    }
    const auto eorder = order(choice);
    double sum = 0;
    for (uint64_t j = 0; j < c.top_k; ++j) sum += scores[eorder[j]];
    for (uint64_t j = 0; j < c.top_k; ++j) {
      ref.ids.push_back(int32_t(eorder[j]));
      double w = scores[eorder[j]];
      if (c.norm) w /= sum + 1e-20;
      ref.weights.push_back(w * c.scaling);
    }
  }
  return ref;
}

// Runs the kernel on the given logits (f32) and bias; returns ids and weights.
void run_route_kernel(const RouteCase& c, const std::vector<float>& logits, const std::vector<float>& bias,
                      std::vector<int32_t>& ids, std::vector<float>& weights) {
  const uint64_t E = c.experts, ld = E + 3;
  const uint64_t l_off = 16, b_off = l_off + c.tokens * ld * 4 + 16, i_off = b_off + E * 4 + 16;
  const uint64_t w_off = i_off + c.tokens * c.top_k * 4 + 16;
  Buffer buf(w_off + c.tokens * c.top_k * 4 + 4);
  for (uint64_t t = 0; t < c.tokens; ++t)
    std::copy_n(logits.data() + t * E, E, buf.as<float>(l_off) + t * ld);
  std::copy(bias.begin(), bias.end(), buf.as<float>(b_off));
  dshal_moe_route_desc d{};
  d.struct_size = sizeof d;
  d.tokens = c.tokens;
  d.experts = E;
  d.top_k = c.top_k;
  d.scoring = c.scoring;
  d.method = c.method;
  d.n_group = c.n_group;
  d.topk_group = c.topk_group;
  d.norm_topk_prob = c.norm;
  d.routed_scaling_factor = c.scaling;
  d.logits = {buf.handle(), l_off, DSHAL_DTYPE_F32, ld};
  d.bias = {c.with_bias ? buf.handle() : nullptr, b_off};
  d.topk_ids = {buf.handle(), i_off};
  d.topk_weights = {buf.handle(), w_off};
  WriteMask mask(buf.size());
  mask.allow(i_off, c.tokens * c.top_k * 4);
  mask.allow(w_off, c.tokens * c.top_k * 4);
  const auto before = buf.snapshot();
  std::string error;
  ASSERT_EQ(moe_route(d, &error), DSHAL_OK) << error;
  mask.expect_only_allowed_changed(buf, before);
  ids.assign(buf.as<int32_t>(i_off), buf.as<int32_t>(i_off) + c.tokens * c.top_k);
  weights.assign(buf.as<float>(w_off), buf.as<float>(w_off) + c.tokens * c.top_k);
}

void run_route(const RouteCase& c, float logit_range, float bias_range) {
  std::vector<float> logits(c.tokens * c.experts), bias(c.experts);
  for (auto& x : logits) x = uniform(-logit_range, logit_range);
  for (auto& b : bias) b = uniform(-bias_range, bias_range);
  std::vector<int32_t> ids;
  std::vector<float> weights;
  run_route_kernel(c, logits, bias, ids, weights);
  const RouteRef ref = route_reference(c, std::vector<double>(logits.begin(), logits.end()),
                                       std::vector<double>(bias.begin(), bias.end()));
  Compare cmp(DSHAL_DTYPE_F32, 1e-6);
  for (uint64_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(ids[i], ref.ids[i]) << "token " << i / c.top_k << " slot " << i % c.top_k;
    cmp.add(weights[i], ref.weights[i], {i});
  }
  cmp.expect_ok();
}

TEST(MoeRoute, SoftmaxGreedyV2Lite) {  // 64 experts top-6, no normalization
  run_route({33, 64, 6, DSHAL_MOE_SCORING_SOFTMAX, DSHAL_MOE_TOPK_GREEDY, 1, 1, false, 1.0f, false}, 4, 0);
}
TEST(MoeRoute, SoftmaxGreedyNormalized) {
  run_route({17, 16, 2, DSHAL_MOE_SCORING_SOFTMAX, DSHAL_MOE_TOPK_GREEDY, 0, 0, true, 1.0f, false}, 2, 0);
}
TEST(MoeRoute, SoftmaxGroupLimitedGreedyV2) {  // 160 experts, 8 groups keep 3, top-6, scaling 16
  run_route({29, 160, 6, DSHAL_MOE_SCORING_SOFTMAX, DSHAL_MOE_TOPK_GROUP_LIMITED_GREEDY, 8, 3, false, 16.0f, false}, 3, 0);
}
TEST(MoeRoute, SigmoidNoauxTcV3) {  // 256 experts, 8 groups keep 4, top-8, normalized, scaling 2.5
  run_route({41, 256, 8, DSHAL_MOE_SCORING_SIGMOID, DSHAL_MOE_TOPK_NOAUX_TC, 8, 4, true, 2.5f, true}, 4, 0.1f);
}
TEST(MoeRoute, SigmoidNoauxTcTinyV3) {  // t-v3: 16 experts, groups 4/2, top-4
  run_route({64, 16, 4, DSHAL_MOE_SCORING_SIGMOID, DSHAL_MOE_TOPK_NOAUX_TC, 4, 2, true, 2.5f, true}, 3, 0.3f);
}
TEST(MoeRoute, BiasSelectsButDoesNotWeigh) {
  // Expert 3 has the lowest score but a large bias: it is chosen first, weighted by its own score.
  const RouteCase c{1, 8, 2, DSHAL_MOE_SCORING_SIGMOID, DSHAL_MOE_TOPK_GREEDY, 1, 1, false, 1.0f, true};
  std::vector<float> logits = {0.5f, 0.1f, 0.2f, -2.0f, 0.3f, 0.0f, 0.4f, 0.45f};
  std::vector<float> bias(8, 0.0f);
  bias[3] = 1.0f;
  std::vector<int32_t> ids;
  std::vector<float> w;
  run_route_kernel(c, logits, bias, ids, w);
  EXPECT_EQ(ids, (std::vector<int32_t>{3, 0}));
  EXPECT_NEAR(w[0], 1.0 / (1.0 + std::exp(2.0)), 1e-7);
  EXPECT_NEAR(w[1], 1.0 / (1.0 + std::exp(-0.5)), 1e-7);
}

TEST(MoeRoute, TiesGoToTheLowerIndex) {
  // Equal logits give bit-identical scores. Groups of 4: group 1 and group 3 tie on their top-2 sum
  // (group 1 is kept, being lower); within the kept groups experts 5 and 6 tie, as do 13 and 14.
  const RouteCase c{1, 16, 4, DSHAL_MOE_SCORING_SIGMOID, DSHAL_MOE_TOPK_NOAUX_TC, 4, 2, true, 1.0f, true};
  std::vector<float> logits(16, -1.0f);
  logits[5] = logits[6] = 2.0f;  // group 1: top-2 sum 2 * sigmoid(2)
  logits[13] = logits[14] = 2.0f;  // group 3: the same
  logits[0] = 2.5f;  // group 0: sigmoid(2.5) + sigmoid(-1), less than the others' sums
  std::vector<float> bias(16, 0.0f);
  std::vector<int32_t> ids;
  std::vector<float> w;
  run_route_kernel(c, logits, bias, ids, w);
  // Kept groups: 1 and 3 (sums 2*sigmoid(2) > sigmoid(2.5) + sigmoid(-1)); top-4 = 5, 6, 13, 14.
  EXPECT_EQ(ids, (std::vector<int32_t>{5, 6, 13, 14}));
  for (float x : w) EXPECT_NEAR(x, 0.25, 1e-7);

  // Greedy over identical scores: lowest indices, in order.
  const RouteCase g{2, 10, 3, DSHAL_MOE_SCORING_SOFTMAX, DSHAL_MOE_TOPK_GREEDY, 1, 1, false, 1.0f, false};
  std::vector<float> flat(20, 0.25f);
  flat[10 + 7] = 1.0f;  // token 1: expert 7 first, then the lowest of the ties
  run_route_kernel(g, flat, std::vector<float>(10, 0.0f), ids, w);
  EXPECT_EQ(ids, (std::vector<int32_t>{0, 1, 2, 7, 0, 1}));
}

TEST(MoeRoute, GroupTieKeepsLowerGroup) {
  // Four groups of two; groups 0 and 2 tie for the single kept group: group 0 wins.
  const RouteCase c{1, 8, 2, DSHAL_MOE_SCORING_SOFTMAX, DSHAL_MOE_TOPK_GROUP_LIMITED_GREEDY, 4, 1, false, 1.0f, false};
  std::vector<float> logits = {1.0f, 0.0f, 0.5f, 0.5f, 1.0f, 0.9f, -1.0f, 0.2f};
  std::vector<int32_t> ids;
  std::vector<float> w;
  run_route_kernel(c, logits, std::vector<float>(8, 0.0f), ids, w);
  EXPECT_EQ(ids, (std::vector<int32_t>{0, 1}));
}

TEST(MoeRoute, DroppedGroupsLoseEvenToNegativeChoices) {
  // Negative biases make every kept expert's choice negative: with adapter.h's -inf fill for noaux_tc
  // (DeepSeek, transformers >= 5.6) the kept group still wins; the old fill of 0 would pick 0 and 1.
  const RouteCase c{1, 8, 2, DSHAL_MOE_SCORING_SIGMOID, DSHAL_MOE_TOPK_NOAUX_TC, 4, 1, false, 1.0f, true};
  std::vector<float> logits = {3.0f, 2.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
  std::vector<float> bias = {-2.0f, -2.0f, -1.5f, -1.5f, -1.5f, -1.5f, -1.5f, -1.5f};
  std::vector<int32_t> ids;
  std::vector<float> w;
  run_route_kernel(c, logits, bias, ids, w);
  // Group sums: group 0 sigmoid(3) + sigmoid(2) - 4 = -2.17, groups 1..3 2 * 0.5 - 3 = -2: group 1 (the
  // lowest of the tied) is kept, and its experts 2 and 3 (choices -1) are chosen.
  EXPECT_EQ(ids, (std::vector<int32_t>{2, 3}));
  const RouteRef ref = route_reference(c, {3, 2, 0, 0, 0, 0, 0, 0}, {-2, -2, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5});
  EXPECT_EQ(ids, ref.ids);
}

// ---- moe_permute / moe_unpermute ------------------------------------------------------------------

struct PermuteResult {
  std::vector<int32_t> offsets, perm;
};

void run_permute(dshal_dtype xt, uint64_t tokens, uint64_t top_k, uint64_t experts, uint64_t hidden,
                 const std::vector<int32_t>& ids, PermuteResult* result = nullptr) {
  SCOPED_TRACE(cat("moe_permute ", dtype_name(xt)));
  const uint64_t slots = tokens * top_k, eb = dtype_bytes(xt), ld_x = hidden + 2, ld_o = hidden + 1;
  const uint64_t x_off = 8, ids_off = after(x_off + tokens * ld_x * eb), o_off = after(ids_off + slots * 4);
  const uint64_t off_off = after(o_off + slots * ld_o * eb), perm_off = after(off_off + (experts + 1) * 4);
  Buffer buf(perm_off + slots * 4 + 8);
  for (uint64_t t = 0; t < tokens; ++t)
    for (uint64_t h = 0; h < hidden; ++h) put(buf.data() + x_off, xt, t * ld_x + h, uniform(-1, 1));
  std::copy(ids.begin(), ids.end(), buf.as<int32_t>(ids_off));
  dshal_moe_permute_desc d{};
  d.struct_size = sizeof d;
  d.tokens = tokens;
  d.top_k = top_k;
  d.experts = experts;
  d.hidden = hidden;
  d.x = {buf.handle(), x_off, xt, ld_x};
  d.topk_ids = {buf.handle(), ids_off};
  d.out = {buf.handle(), o_off, xt, ld_o};
  d.expert_offsets = {buf.handle(), off_off};
  d.perm = {buf.handle(), perm_off};

  // Reference: stable order by (expert, slot) of the slots with an expert in range.
  std::vector<uint64_t> kept;
  for (uint64_t s = 0; s < slots; ++s)
    if (ids[s] >= 0 && uint64_t(ids[s]) < experts) kept.push_back(s);
  std::stable_sort(kept.begin(), kept.end(), [&](uint64_t a, uint64_t b) { return ids[a] < ids[b]; });

  WriteMask mask(buf.size());
  mask.allow_rows(o_off, kept.size(), hidden, ld_o, eb);  // rows past the kept ones are not outputs
  mask.allow(off_off, (experts + 1) * 4);
  mask.allow(perm_off, slots * 4);
  const auto before = buf.snapshot();
  std::string error;
  ASSERT_EQ(moe_permute(d, &error), DSHAL_OK) << error;
  mask.expect_only_allowed_changed(buf, before);

  const auto* offsets = buf.as<int32_t>(off_off);
  const auto* perm = buf.as<int32_t>(perm_off);
  for (uint64_t e = 0; e <= experts; ++e) {
    const auto first = std::find_if(kept.begin(), kept.end(), [&](uint64_t s) { return uint64_t(ids[s]) >= e; });
    EXPECT_EQ(offsets[e], int32_t(first - kept.begin())) << "expert_offsets[" << e << "]";
  }
  for (uint64_t p = 0; p < slots; ++p) {
    EXPECT_EQ(perm[p], p < kept.size() ? int32_t(kept[p]) : -1) << "perm[" << p << "]";
    if (p < kept.size()) {
      EXPECT_EQ(std::memcmp(buf.data() + o_off + p * ld_o * eb, buf.data() + x_off + kept[p] / top_k * ld_x * eb, hidden * eb), 0)
          << "out row " << p;
    }
  }
  if (result) {
    result->offsets.assign(offsets, offsets + experts + 1);
    result->perm.assign(perm, perm + slots);
  }
}

TEST(MoePermute, DropsExpertsOutsideRange) {
  // 9 tokens x top-3 over 5 local experts; ids -1, 5, 7 belong elsewhere (expert parallelism).
  const std::vector<int32_t> ids = {4, 0, 2,  1, -1, 0,  5, 3, 3,  2, 2, 2,  0, 7, 4,
                                    1, 3, 0,  -1, -1, -1,  4, 1, 0,  3, 5, 2};
  run_permute(DSHAL_DTYPE_F32, 9, 3, 5, 13, ids);
  run_permute(DSHAL_DTYPE_BF16, 9, 3, 5, 13, ids);
}

TEST(MoePermute, ExpertsWithNoTokensAndAllDropped) {
  run_permute(DSHAL_DTYPE_F32, 4, 2, 6, 8, {5, 5, 0, 5, 5, 0, 0, 5});  // experts 1-4 empty
  run_permute(DSHAL_DTYPE_BF16, 3, 1, 4, 5, {-1, 9, 4});               // nothing kept
}

TEST(MoePermute, DeepSeekShape) {
  const uint64_t tokens = 100, top_k = 8, experts = 256;
  std::vector<int32_t> ids(tokens * top_k);
  for (uint64_t t = 0; t < tokens; ++t) {  // distinct experts per token, as routing gives
    std::vector<int32_t> all(experts);
    std::iota(all.begin(), all.end(), 0);
    std::shuffle(all.begin(), all.end(), rng());
    std::copy_n(all.begin(), top_k, ids.begin() + t * top_k);
  }
  run_permute(DSHAL_DTYPE_BF16, tokens, top_k, 64, 96, ids);  // a rank holding experts 0..63
}

void run_unpermute(dshal_dtype yt, dshal_dtype ot, uint64_t tokens, uint64_t top_k, uint64_t hidden,
                   const std::vector<int32_t>& perm, bool accumulate, std::vector<std::byte>* out_bytes = nullptr) {
  SCOPED_TRACE(cat("moe_unpermute ", dtype_name(yt), "->", dtype_name(ot), accumulate ? " accumulate" : ""));
  const uint64_t slots = tokens * top_k, ld_y = hidden + 3, ld_o = hidden + 2;
  const uint64_t y_off = 0, p_off = after(y_off + slots * ld_y * dtype_bytes(yt)), w_off = after(p_off + slots * 4);
  const uint64_t o_off = after(w_off + slots * 4);
  Buffer buf(o_off + tokens * ld_o * dtype_bytes(ot) + 8);
  std::vector<double> y(slots * hidden), w(slots), out0(tokens * hidden);
  for (uint64_t p = 0; p < slots; ++p)
    for (uint64_t h = 0; h < hidden; ++h) y[p * hidden + h] = put(buf.data() + y_off, yt, p * ld_y + h, uniform(-2, 2));
  for (uint64_t s = 0; s < slots; ++s) w[s] = buf.as<float>(w_off)[s] = uniform(0, 1);
  for (uint64_t t = 0; t < tokens; ++t)
    for (uint64_t h = 0; h < hidden; ++h) out0[t * hidden + h] = put(buf.data() + o_off, ot, t * ld_o + h, uniform(-1, 1));
  std::copy(perm.begin(), perm.end(), buf.as<int32_t>(p_off));
  dshal_moe_unpermute_desc d{};
  d.struct_size = sizeof d;
  d.tokens = tokens;
  d.top_k = top_k;
  d.hidden = hidden;
  d.accumulate = accumulate;
  d.y = {buf.handle(), y_off, yt, ld_y};
  d.perm = {buf.handle(), p_off};
  d.weights = {buf.handle(), w_off};
  d.out = {buf.handle(), o_off, ot, ld_o};
  WriteMask mask(buf.size());
  mask.allow_rows(o_off, tokens, hidden, ld_o, dtype_bytes(ot));
  const auto before = buf.snapshot();
  std::string error;
  ASSERT_EQ(moe_unpermute(d, &error), DSHAL_OK) << error;
  mask.expect_only_allowed_changed(buf, before);

  std::vector<int64_t> row_of(slots, -1);
  for (uint64_t p = 0; p < slots; ++p)
    if (perm[p] >= 0) row_of[uint64_t(perm[p])] = int64_t(p);
  Compare cmp(ot, 5e-7);
  for (uint64_t t = 0; t < tokens; ++t)
    for (uint64_t h = 0; h < hidden; ++h) {
      double ref = accumulate ? out0[t * hidden + h] : 0.0;
      for (uint64_t j = 0; j < top_k; ++j)
        if (row_of[t * top_k + j] >= 0) ref += w[t * top_k + j] * y[uint64_t(row_of[t * top_k + j]) * hidden + h];
      cmp.add(get(buf.data() + o_off, ot, t * ld_o + h), ref, {t, h});
    }
  cmp.expect_ok();
  if (out_bytes) out_bytes->assign(buf.data() + o_off, buf.data() + buf.size());
}

TEST(MoeUnpermute, RoundTripWithDroppedSlots) {
  const std::vector<int32_t> ids = {4, 0, 2,  1, -1, 0,  5, 3, 3,  2, 2, 2,  0, 7, 4,
                                    1, 3, 0,  -1, -1, -1,  4, 1, 0,  3, 5, 2};
  PermuteResult pr;
  run_permute(DSHAL_DTYPE_F32, 9, 3, 5, 13, ids, &pr);
  for (bool acc : {false, true}) {
    run_unpermute(DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, 9, 3, 13, pr.perm, acc);
    run_unpermute(DSHAL_DTYPE_BF16, DSHAL_DTYPE_BF16, 9, 3, 13, pr.perm, acc);
    run_unpermute(DSHAL_DTYPE_BF16, DSHAL_DTYPE_F32, 9, 3, 21, pr.perm, acc);
  }
}

TEST(MoeUnpermute, SumsSlotsInOrderInF32) {
  // Products are exact, sums are not: in the order j = 0, 1, 2, 2^24 + 1 rounds back to 2^24, so the
  // result is 0 (from 0) or 2^24 (from out = 2^24 with accumulate); any other order gives 1 or more.
  const float big = 16777216.0f;  // 2^24
  Buffer buf(256);
  float* y = buf.as<float>(0);       // [3][1], rows in expert order
  auto* perm = buf.as<int32_t>(64);  // row p holds slot perm[p]
  float* w = buf.as<float>(128);
  float* out = buf.as<float>(192);
  perm[0] = 2, perm[1] = 0, perm[2] = 1;
  y[1] = big, y[2] = 2.0f, y[0] = -big / 2;  // slots 0, 1, 2
  w[0] = 1.0f, w[1] = 0.5f, w[2] = 2.0f;     // w * y: 2^24, 1, -2^24
  dshal_moe_unpermute_desc d{};
  d.struct_size = sizeof d;
  d.tokens = 1;
  d.top_k = 3;
  d.hidden = 1;
  d.y = {buf.handle(), 0, DSHAL_DTYPE_F32, 1};
  d.perm = {buf.handle(), 64};
  d.weights = {buf.handle(), 128};
  d.out = {buf.handle(), 192, DSHAL_DTYPE_F32, 1};
  std::string error;
  ASSERT_EQ(moe_unpermute(d, &error), DSHAL_OK);
  EXPECT_EQ(out[0], 0.0f);
  out[0] = big;
  d.accumulate = 1;
  ASSERT_EQ(moe_unpermute(d, &error), DSHAL_OK);
  EXPECT_EQ(out[0], big);
}

TEST(MoeUnpermute, BitReproducibleAcrossThreadCounts) {
  const uint64_t tokens = 257, top_k = 8, hidden = 160;
  std::vector<int32_t> perm(tokens * top_k);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng());
  std::fill(perm.end() - 100, perm.end(), -1);  // 100 slots dropped
  std::vector<std::byte> one, many;
  const auto state = rng();
  {
    tbb::global_control single(tbb::global_control::max_allowed_parallelism, 1);
    run_unpermute(DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, tokens, top_k, hidden, perm, true, &one);
  }
  rng() = state;  // the same inputs again
  run_unpermute(DSHAL_DTYPE_F32, DSHAL_DTYPE_F32, tokens, top_k, hidden, perm, true, &many);
  EXPECT_TRUE(one == many);
}

}  // namespace
}  // namespace dshal::host::test
