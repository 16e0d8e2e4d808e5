// ops tier: moe_route, moe_permute, moe_unpermute and embedding against references written here;
// guard bytes around every output. Routing ids and permutations are exact; weights and sums have
// f32 bounds (derived next to each test). Bad embedding ids must be reported, never lost.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "case_util.hpp"
#include "harness.hpp"
#include "host/dtype.hpp"

namespace dshal::conformance {
namespace {

// ------------------------------------------------------------------------------------------------
// moe_route. The reference follows adapter.h (and Hugging Face's DeepseekV2/V3 gates) in fp64.
// Ids must match exactly, so random tokens are drawn until every decision they involve (group
// cut, top_k cut, order of the chosen) is separated by more than 1e-5 relative — far above f32
// rounding (a few ulps) but below anything a wrong rule would produce; deliberate exact ties are
// separate cases. Weights: a softmax score is off by at most (experts + 8 + 4 A) u relative (A the
// largest |logit|: the max shift and exp; the sum over experts), a sigmoid by (8 + 4 A) u;
// normalization adds top_k + 2 roundings, the scaling one. Doubled:
//   2 ([experts, softmax only] + top_k + 12 + 4 A) u |w|.

struct RouteRef {
  std::vector<int32_t> ids;
  std::vector<double> weights;
  bool well_separated = true;
};

struct RouteSpec {
  uint64_t experts, top_k;
  dshal_moe_scoring scoring;
  dshal_moe_topk_method method;
  uint64_t n_group, topk_group;
  bool norm;
  float scale;
};

bool separated(double a, double b) { return std::fabs(a - b) > 1e-5 * (std::fabs(a) + std::fabs(b)) + 1e-30; }

RouteRef route_reference(const RouteSpec& s, const float* logits, const std::vector<float>& bias) {
  const uint64_t E = s.experts;
  std::vector<double> score(E), choice(E);
  if (s.scoring == DSHAL_MOE_SCORING_SOFTMAX) {
    double mx = -INFINITY, sum = 0;
    for (uint64_t e = 0; e < E; ++e) mx = std::max(mx, double(logits[e]));
    for (uint64_t e = 0; e < E; ++e) sum += std::exp(double(logits[e]) - mx);
    for (uint64_t e = 0; e < E; ++e) score[e] = std::exp(double(logits[e]) - mx) / sum;
  } else {
    for (uint64_t e = 0; e < E; ++e) score[e] = 1.0 / (1.0 + std::exp(-double(logits[e])));
  }
  for (uint64_t e = 0; e < E; ++e) choice[e] = score[e] + (bias.empty() ? 0.0 : double(bias[e]));
  RouteRef r;
  std::vector<double> masked = choice;
  if (s.method != DSHAL_MOE_TOPK_GREEDY) {
    const uint64_t gs = E / s.n_group;
    std::vector<double> gscore(s.n_group);
    for (uint64_t g = 0; g < s.n_group; ++g) {
      std::vector<double> v(choice.begin() + g * gs, choice.begin() + (g + 1) * gs);
      std::sort(v.begin(), v.end(), std::greater<>());
      gscore[g] = s.method == DSHAL_MOE_TOPK_GROUP_LIMITED_GREEDY ? v[0] : v[0] + v[1];
    }
    std::vector<uint64_t> order(s.n_group);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](uint64_t a, uint64_t b) { return gscore[a] > gscore[b]; });
    if (s.topk_group < s.n_group && !separated(gscore[order[s.topk_group - 1]], gscore[order[s.topk_group]]))
      r.well_separated = false;
    std::vector<bool> kept(s.n_group, false);
    for (uint64_t i = 0; i < s.topk_group; ++i) kept[order[i]] = true;
    for (uint64_t e = 0; e < E; ++e)
      if (!kept[e / gs]) masked[e] = s.method == DSHAL_MOE_TOPK_NOAUX_TC ? -INFINITY : 0.0;  // adapter.h
  }
  std::vector<uint64_t> order(E);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](uint64_t a, uint64_t b) { return masked[a] > masked[b]; });
  for (uint64_t j = 0; j < s.top_k && j + 1 < E; ++j)
    if (masked[order[j]] != masked[order[j + 1]] && !separated(masked[order[j]], masked[order[j + 1]])) r.well_separated = false;
  double sum = 0;
  for (uint64_t j = 0; j < s.top_k; ++j) {
    r.ids.push_back(int32_t(order[j]));
    r.weights.push_back(score[order[j]]);
    sum += score[order[j]];
  }
  for (double& w : r.weights) w = (s.norm ? w / (sum + 1e-20) : w) * double(s.scale);
  return r;
}

struct RouteCase {
  const char* name;
  uint64_t tokens;
  RouteSpec spec;
  float spread;      // logits uniform in [-spread, spread)
  float bias_scale;  // 0: no bias buffer (NULL)
  uint64_t pad;      // extra elements per logits row
  int special;       // 0 random; 1 exact ties (greedy); 2 a tie inside a kept group; 3 every choice negative
};

constexpr auto SOFTMAX = DSHAL_MOE_SCORING_SOFTMAX, SIGMOID = DSHAL_MOE_SCORING_SIGMOID;
constexpr auto GREEDY = DSHAL_MOE_TOPK_GREEDY, GROUP_LIMITED = DSHAL_MOE_TOPK_GROUP_LIMITED_GREEDY,
               NOAUX_TC = DSHAL_MOE_TOPK_NOAUX_TC;

const std::vector<RouteCase>& route_cases() {
  static const std::vector<RouteCase> v = {
      {"softmax_greedy", 7, {16, 4, SOFTMAX, GREEDY, 0, 0, false, 1.0f}, 3, 0, 0, 0},
      {"softmax_greedy_norm_scaled_padded", 5, {64, 6, SOFTMAX, GREEDY, 0, 0, true, 16.0f}, 3, 0, 3, 0},
      {"softmax_greedy_top1", 6, {8, 1, SOFTMAX, GREEDY, 0, 0, false, 1.0f}, 2, 0, 0, 0},
      {"softmax_group_limited", 9, {16, 3, SOFTMAX, GROUP_LIMITED, 4, 2, false, 16.0f}, 3, 0, 0, 0},
      // DeepSeek-V2: 160 experts, 8 groups, 3 kept, top-6, scaling 16.
      {"ds_v2_group_limited_160", 17, {160, 6, SOFTMAX, GROUP_LIMITED, 8, 3, false, 16.0f}, 4, 0, 0, 0},
      {"sigmoid_greedy_no_bias", 6, {32, 4, SIGMOID, GREEDY, 0, 0, true, 1.0f}, 4, 0, 0, 0},
      {"sigmoid_greedy_bias", 6, {32, 4, SIGMOID, GREEDY, 0, 0, false, 2.0f}, 4, 0.1f, 0, 0},
      {"sigmoid_noaux_tc_bias_norm", 11, {16, 4, SIGMOID, NOAUX_TC, 4, 2, true, 2.5f}, 4, 0.1f, 0, 0},
      {"sigmoid_noaux_tc_groups_of_2", 8, {16, 3, SIGMOID, NOAUX_TC, 8, 3, true, 1.0f}, 4, 0.2f, 1, 0},
      // DeepSeek-V3: 256 experts, 8 groups, 4 kept, top-8, bias, norm_topk_prob, scaling 2.5.
      {"ds_v3_noaux_tc_256", 33, {256, 8, SIGMOID, NOAUX_TC, 8, 4, true, 2.5f}, 4, 0.05f, 2, 0},
      {"ties_softmax_greedy_lower_index", 3, {8, 4, SOFTMAX, GREEDY, 0, 0, false, 1.0f}, 0, 0, 0, 1},
      {"ties_sigmoid_greedy_bias_lower_index", 3, {8, 4, SIGMOID, GREEDY, 0, 0, true, 1.0f}, 0, 0, 0, 1},
      {"tie_inside_kept_group_noaux_tc", 2, {16, 3, SIGMOID, NOAUX_TC, 4, 2, false, 1.0f}, 0, 0, 0, 2},
      {"noaux_tc_masked_groups_lose_to_negative_choices", 3, {16, 4, SIGMOID, NOAUX_TC, 4, 2, true, 1.0f}, 2, 0, 0, 3},
  };
  return v;
}

using RouteParam = std::tuple<std::string, RouteCase>;
class MoeRoute : public testing::TestWithParam<RouteParam> {};

TEST_P(MoeRoute, MatchesReference) {
  const auto& [id, g] = GetParam();
  const RouteSpec& s = g.spec;
  const uint64_t E = s.experts, ld = E + g.pad;
  std::vector<float> logits(g.tokens * ld, 0.0f), bias;
  if (g.bias_scale != 0) {
    bias = random_values(E, 77);
    for (float& b : bias) b *= g.bias_scale;
  }
  std::vector<RouteRef> refs;
  if (g.special == 0) {
    for (uint64_t t = 0; t < g.tokens; ++t) {
      for (uint64_t attempt = 0;; ++attempt) {
        ASSERT_LT(attempt, 100u) << "cannot draw a well-separated token";
        std::vector<float> row = random_values(E, 1000 * t + attempt + 1);
        for (float& x : row) x *= g.spread;
        RouteRef r = route_reference(s, row.data(), bias);
        if (!r.well_separated) continue;
        std::copy(row.begin(), row.end(), logits.begin() + t * ld);
        refs.push_back(std::move(r));
        break;
      }
    }
  } else {
    // Hand-made rows (8 or 16 experts).
    std::vector<std::vector<float>> rows;
    if (g.special == 1) {
      rows = {{0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f},  // all equal: experts 0..3
              {1, 3, 3, 2, 3, 0, 2, 1},                          // 3s at 1, 2, 4, then the 2 at 3 (not 6)
              {-1, 2, -1, 2, -1, 2, 2, -1}};                     // 2s at 1, 3, 5, 6: the first four
      if (s.scoring == SIGMOID) bias = std::vector<float>(E, 0.25f);  // equal bias keeps the ties
    } else if (g.special == 2) {
      // Groups of 4, no bias. Row 0: groups 3 (sig 2.5 + sig 1) and 1 (sig 2 + sig 0.5) are kept;
      // the top-3 are 12, 4, then experts 13 and 14 tie (logit 1): the lower index, 13.
      // Row 1: groups 3 and 1 again, top-3 = 4, 12, 13 with the tie (5, 6) just below the cut.
      rows = {{-3, -3, -3, -3, 2, 0.5f, -3, -3, -3, -3, -3, -3, 2.5f, 1, 1, -3},
              {-3, -3, -3, -3, 2.5f, 1, 1, -3, -3, -3, -3, -3, 2, 1.5f, -3, -3}};
    } else {
      // Every choice is negative (bias -2): experts of dropped groups (-inf for noaux_tc) must still
      // lose to the kept ones — the case where transformers < 5.6 (which used 0) differed.
      bias = std::vector<float>(E, -2.0f);
      for (uint64_t t = 0; t < g.tokens; ++t) {
        std::vector<float> row = random_values(E, 500 + t);
        for (float& x : row) x *= g.spread;
        rows.push_back(row);
      }
    }
    for (uint64_t t = 0; t < g.tokens; ++t) {
      std::copy(rows[t].begin(), rows[t].end(), logits.begin() + t * ld);
      refs.push_back(route_reference(s, rows[t].data(), bias));
      ASSERT_TRUE(refs.back().well_separated) << "hand-made token " << t << " is decided by rounding";
    }
    if (g.special == 1) {
      EXPECT_EQ(refs[0].ids, (std::vector<int32_t>{0, 1, 2, 3}));
      EXPECT_EQ(refs[1].ids, (std::vector<int32_t>{1, 2, 4, 3}));
      EXPECT_EQ(refs[2].ids, (std::vector<int32_t>{1, 3, 5, 6}));
    }
    if (g.special == 2) {
      EXPECT_EQ(refs[0].ids, (std::vector<int32_t>{12, 4, 13}));
      EXPECT_EQ(refs[1].ids, (std::vector<int32_t>{4, 12, 13}));
    }
  }

  Buffer L = upload(id, logits), B;
  GuardedInit ids(id, GuardedInit::bytes_of(std::vector<int32_t>(g.tokens * s.top_k, -5)));
  GuardedInit wts(id, GuardedInit::bytes_of(std::vector<float>(g.tokens * s.top_k, NAN)));
  auto d = desc<dshal_moe_route_desc>();
  d.tokens = g.tokens;
  d.experts = E;
  d.top_k = s.top_k;
  d.scoring = s.scoring;
  d.method = s.method;
  d.n_group = s.n_group;
  d.topk_group = s.topk_group;
  d.norm_topk_prob = s.norm;
  d.routed_scaling_factor = s.scale;
  d.logits = tensor(L, F32, ld);
  if (!bias.empty()) {
    B = upload(id, bias);
    d.bias = ref(B);
  }
  d.topk_ids = ids.at();
  d.topk_weights = wts.at();
  DSHAL_ASSERT_OK(stream(id).moe_route(d));
  DSHAL_ASSERT_OK(stream(id).synchronize());
  const std::vector<int32_t> got_ids = ids.buf.read<int32_t>();
  const std::vector<float> got_w = wts.buf.read<float>();

  double amax = 0;
  for (uint64_t t = 0; t < g.tokens; ++t)
    for (uint64_t e = 0; e < E; ++e) amax = std::max(amax, std::fabs(double(logits[t * ld + e])));
  const double rel = 2.0 * ((s.scoring == SOFTMAX ? double(E) : 0.0) + double(s.top_k) + 12.0 + 4.0 * amax) * kU;
  std::vector<double> ref_w, bound;
  for (uint64_t t = 0; t < g.tokens; ++t) {
    const std::vector<int32_t> got_row(got_ids.begin() + t * s.top_k, got_ids.begin() + (t + 1) * s.top_k);
    EXPECT_EQ(got_row, refs[t].ids) << "topk_ids of token " << t;
    for (uint64_t j = 0; j < s.top_k; ++j) {
      ref_w.push_back(refs[t].weights[j]);
      bound.push_back(rel * std::fabs(refs[t].weights[j]));
    }
  }
  expect_within(compare(ref_w, got_w, bound), fmt::format("moe_route {} weights", g.name));
}

INSTANTIATE_TEST_SUITE_P(ops, MoeRoute, testing::Combine(testing::ValuesIn(device_ids()), testing::ValuesIn(route_cases())),
                         case_name<RouteCase>);

// ------------------------------------------------------------------------------------------------
// moe_permute / moe_unpermute

// The permutation adapter.h defines: kept slots ordered by expert, then by slot.
struct PermRef {
  std::vector<int32_t> offsets;  // [experts + 1]
  std::vector<int32_t> perm;     // [slots], -1 past the kept ones
  uint64_t kept = 0;
};
PermRef permute_reference(const std::vector<int32_t>& ids, uint64_t experts) {
  PermRef r;
  r.offsets.assign(experts + 1, 0);
  r.perm.assign(ids.size(), -1);
  for (int32_t e : ids)
    if (e >= 0 && uint64_t(e) < experts) ++r.offsets[e + 1];
  for (uint64_t e = 0; e < experts; ++e) r.offsets[e + 1] += r.offsets[e];
  std::vector<int32_t> next(r.offsets.begin(), r.offsets.end() - 1);
  for (uint64_t s = 0; s < ids.size(); ++s)
    if (ids[s] >= 0 && uint64_t(ids[s]) < experts) r.perm[next[ids[s]]++] = int32_t(s);
  r.kept = uint64_t(r.offsets[experts]);
  return r;
}

// Router-like ids: top_k distinct values per token from [lo, hi) (values outside [0, experts) are
// dropped slots); then expert 0 gets no token and expert 1 exactly one (when experts >= 2), and a
// few extreme out-of-range ids.
std::vector<int32_t> make_ids(uint64_t tokens, uint64_t top_k, uint64_t experts, int64_t lo, int64_t hi, uint64_t seed) {
  std::vector<int32_t> ids(tokens * top_k);
  const uint64_t range = uint64_t(hi - lo);
  for (uint64_t t = 0; t < tokens; ++t) {
    const std::vector<float> r = random_values(range, seed + t);
    std::vector<int64_t> cand(range);
    std::iota(cand.begin(), cand.end(), lo);
    std::stable_sort(cand.begin(), cand.end(), [&](int64_t a, int64_t b) { return r[a - lo] < r[b - lo]; });
    for (uint64_t j = 0; j < top_k; ++j) ids[t * top_k + j] = int32_t(cand[j % range]);
  }
  if (experts >= 2) {
    bool one_seen = false;
    for (int32_t& e : ids) {
      if (e == 0) e = -1;
      if (e == 1) {
        if (one_seen) e = int32_t(experts);  // == experts: just outside
        one_seen = true;
      }
    }
    if (!one_seen && tokens > 0) ids[0] = 1;
  }
  if (ids.size() > 5 && lo < 0) {
    ids[ids.size() - 1] = std::numeric_limits<int32_t>::min();
    ids[ids.size() - 2] = std::numeric_limits<int32_t>::max();
  }
  return ids;
}

struct PermCase {
  const char* name;
  uint64_t tokens, top_k, experts, hidden;
  dshal_dtype t;
  uint64_t x_pad, out_pad;
  int64_t lo, hi;  // ids drawn from [lo, hi)
};

const std::vector<PermCase>& perm_cases() {
  static const std::vector<PermCase> v = {
      {"f32_no_drops", 6, 2, 4, 8, F32, 0, 0, 0, 4},
      {"bf16_dropped_padded", 9, 3, 5, 33, BF16, 3, 2, -2, 8},
      {"f16_top1", 7, 1, 3, 10, F16, 0, 1, -1, 4},
      {"all_dropped", 4, 2, 3, 5, F32, 0, 0, 3, 9},
      {"no_tokens", 0, 2, 3, 5, F32, 0, 0, 0, 3},
      // Expert parallelism: this device holds 32 of 256 experts; the other ids are dropped.
      {"ep_32_of_256_bf16", 64, 8, 32, 7168, BF16, 0, 0, 0, 256},
      // DeepSeek-V3 routing: 256 experts, top-8 (most experts get 0 or 1 tokens), hidden 7168.
      {"ds_256_top8_bf16", 64, 8, 256, 7168, BF16, 0, 0, -1, 256},
  };
  return v;
}

using PermParam = std::tuple<std::string, PermCase>;
class MoePermute : public testing::TestWithParam<PermParam> {};

TEST_P(MoePermute, ExactAndDeterministic) {
  const auto& [id, g] = GetParam();
  if (auto why = missing_storage(device(id), {g.t}); !why.empty()) GTEST_SKIP() << why;
  const uint64_t slots = g.tokens * g.top_k, ldx = g.hidden + g.x_pad, ldo = g.hidden + g.out_pad;
  const std::vector<int32_t> ids = make_ids(g.tokens, g.top_k, g.experts, g.lo, g.hi, 99);
  const PermRef r = permute_reference(ids, g.experts);
  const std::vector<float> x = random_values(std::max<uint64_t>(1, g.tokens * ldx), 98, g.t);
  const std::vector<std::byte> x_raw = encode(x, g.t);
  Buffer X = upload_bytes(id, x_raw.data(), x_raw.size()), I = upload(id, ids.empty() ? std::vector<int32_t>{0} : ids);
  const std::vector<std::byte> out0 = encode(random_values(slots * ldo, 97, g.t), g.t);

  std::vector<std::vector<std::byte>> outs, offs, perms;
  for (int run = 0; run < 2; ++run) {
    GuardedInit out(id, out0);
    GuardedInit off(id, GuardedInit::bytes_of(std::vector<int32_t>(g.experts + 1, -7)));
    GuardedInit perm(id, GuardedInit::bytes_of(std::vector<int32_t>(slots, -7)));
    auto d = desc<dshal_moe_permute_desc>();
    d.tokens = g.tokens;
    d.top_k = g.top_k;
    d.experts = g.experts;
    d.hidden = g.hidden;
    d.x = tensor(X, g.t, ldx);
    d.topk_ids = ref(I);
    d.out = out.view(g.t, ldo);
    d.expert_offsets = off.at();
    d.perm = perm.at();
    DSHAL_ASSERT_OK(stream(id).moe_permute(d));
    DSHAL_ASSERT_OK(stream(id).synchronize());
    outs.push_back(out.buf.read_checked());
    offs.push_back(off.buf.read_checked());
    perms.push_back(perm.buf.read_checked());
  }
  std::vector<int32_t> got_off(g.experts + 1), got_perm(slots);
  std::memcpy(got_off.data(), offs[0].data(), offs[0].size());
  if (slots) std::memcpy(got_perm.data(), perms[0].data(), perms[0].size());
  ASSERT_EQ(got_off, r.offsets) << "expert_offsets";
  ASSERT_EQ(got_perm, r.perm) << "perm (kept slots by expert, then slot; -1 after)";
  const uint64_t eb = dtype_bytes(g.t);
  for (uint64_t p = 0; p < r.kept; ++p) {
    const uint64_t src = uint64_t(r.perm[p]) / g.top_k;
    ASSERT_EQ(std::memcmp(outs[0].data() + p * ldo * eb, x_raw.data() + src * ldx * eb, g.hidden * eb), 0)
        << "out row " << p << " is not x row " << src;
    ASSERT_EQ(std::memcmp(outs[0].data() + (p * ldo + g.hidden) * eb, out0.data() + (p * ldo + g.hidden) * eb,
                          (ldo - g.hidden) * eb), 0)
        << "padding of out row " << p << " was written";
  }
  // Two runs of the same input: the kept rows, offsets and perm are bit-identical.
  EXPECT_EQ(offs[0], offs[1]);
  EXPECT_EQ(perms[0], perms[1]);
  EXPECT_TRUE(std::equal(outs[0].begin(), outs[0].begin() + r.kept * ldo * eb, outs[1].begin())) << "the two runs differ";
}

INSTANTIATE_TEST_SUITE_P(ops, MoePermute, testing::Combine(testing::ValuesIn(device_ids()), testing::ValuesIn(perm_cases())),
                         case_name<PermCase>);

// moe_unpermute: out[t] = (accumulate ? out[t] : 0) + sum_j w[t][j] y[p(t, j)] in f32, top_k + 1
// terms: |err| <= 2 (top_k + 2) u (|out0| + sum |w y|), + output rounding. Rows of y that no kept
// slot refers to hold NaN (they must not be read); dropped slots carry large weights (they must
// not count).

struct UnpermCase {
  const char* name;
  uint64_t tokens, top_k, experts, hidden;
  dshal_dtype yt, ot;
  uint32_t accumulate;
  uint64_t y_pad, out_pad;
  int64_t lo, hi;
};

const std::vector<UnpermCase>& unperm_cases() {
  static const std::vector<UnpermCase> v = {
      {"f32", 6, 2, 4, 8, F32, F32, 0, 0, 0, 0, 4},
      {"f32_accumulate_dropped_padded", 9, 3, 5, 33, F32, F32, 1, 2, 3, -2, 8},
      {"bf16_y_f32_out_accumulate", 7, 4, 6, 64, BF16, F32, 1, 0, 0, -1, 7},
      {"bf16_out", 5, 2, 3, 40, F32, BF16, 0, 0, 0, 0, 4},
      {"f16", 5, 3, 8, 24, F16, F16, 1, 1, 1, -1, 9},
      {"all_dropped_accumulate", 4, 2, 3, 5, F32, F32, 1, 0, 0, 3, 9},
      {"all_dropped_overwrite", 4, 2, 3, 5, F32, F32, 0, 0, 0, 3, 9},
      {"ds_256_top8_bf16_y_f32_out", 32, 8, 256, 7168, BF16, F32, 0, 0, 0, -1, 256},
  };
  return v;
}

using UnpermParam = std::tuple<std::string, UnpermCase>;
class MoeUnpermute : public testing::TestWithParam<UnpermParam> {};

TEST_P(MoeUnpermute, MatchesReferenceBitIdenticallyAcrossLayouts) {
  const auto& [id, g] = GetParam();
  if (auto why = missing_storage(device(id), {g.yt, g.ot}); !why.empty()) GTEST_SKIP() << why;
  const uint64_t slots = g.tokens * g.top_k, ldy = g.hidden + g.y_pad, ldo = g.hidden + g.out_pad;
  const std::vector<int32_t> ids = make_ids(g.tokens, g.top_k, g.experts, g.lo, g.hi, 55);
  // Two layouts of the same kept slots: the expert order as is, and reversed (e -> E-1-e).
  std::vector<int32_t> ids2 = ids;
  for (int32_t& e : ids2)
    if (e >= 0 && uint64_t(e) < g.experts) e = int32_t(g.experts) - 1 - e;
  const PermRef r1 = permute_reference(ids, g.experts), r2 = permute_reference(ids2, g.experts);
  ASSERT_EQ(r1.kept, r2.kept);
  // y values per slot, placed at each layout's row; unused rows NaN.
  const std::vector<float> slot_vals = random_values(slots * g.hidden, 56, g.yt);
  std::vector<float> y1(slots * ldy, NAN), y2(slots * ldy, NAN);
  std::vector<int64_t> row_of_slot(slots, -1);
  for (uint64_t p = 0; p < r1.kept; ++p) {
    std::copy_n(slot_vals.begin() + r1.perm[p] * g.hidden, g.hidden, y1.begin() + p * ldy);
    row_of_slot[r1.perm[p]] = int64_t(p);
  }
  for (uint64_t p = 0; p < r2.kept; ++p) std::copy_n(slot_vals.begin() + r2.perm[p] * g.hidden, g.hidden, y2.begin() + p * ldy);
  std::vector<float> w = random_values(slots, 57);
  for (uint64_t s = 0; s < slots; ++s)
    if (row_of_slot[s] < 0) w[s] = 1000.0f;  // a dropped slot: must not contribute
  const std::vector<float> out0 = random_values(g.tokens * ldo, 58, g.ot);

  Buffer Y1 = upload_as(id, y1, g.yt), Y2 = upload_as(id, y2, g.yt), P1 = upload(id, r1.perm), P2 = upload(id, r2.perm),
         W = upload(id, w);
  std::vector<std::vector<std::byte>> results;
  for (int run = 0; run < 3; ++run) {  // layout 1 twice, then layout 2
    GuardedInit out(id, encode(out0, g.ot));
    auto d = desc<dshal_moe_unpermute_desc>();
    d.tokens = g.tokens;
    d.top_k = g.top_k;
    d.hidden = g.hidden;
    d.accumulate = g.accumulate;
    d.y = tensor(run < 2 ? Y1 : Y2, g.yt, ldy);
    d.perm = ref(run < 2 ? P1 : P2);
    d.weights = ref(W);
    d.out = out.view(g.ot, ldo);
    DSHAL_ASSERT_OK(stream(id).moe_unpermute(d));
    DSHAL_ASSERT_OK(stream(id).synchronize());
    results.push_back(out.buf.read_checked());
  }
  const std::vector<float> got_all = decode(results[0], g.ot), before = decode(encode(out0, g.ot), g.ot);
  std::vector<double> ref_v, bound;
  std::vector<float> got;
  for (uint64_t t = 0; t < g.tokens; ++t)
    for (uint64_t h = 0; h < g.hidden; ++h) {
      double s = g.accumulate ? double(before[t * ldo + h]) : 0.0, mag = std::fabs(s);
      for (uint64_t j = 0; j < g.top_k; ++j) {
        const int64_t p = row_of_slot[t * g.top_k + j];
        if (p < 0) continue;
        const double term = double(w[t * g.top_k + j]) * double(y1[p * ldy + h]);
        s += term;
        mag += std::fabs(term);
      }
      ref_v.push_back(s);
      bound.push_back(dot_bound(g.top_k, mag, s, g.ot));
      got.push_back(got_all[t * ldo + h]);
    }
  expect_within(compare(ref_v, got, bound), fmt::format("moe_unpermute {}", g.name));
  for (uint64_t t = 0; t < g.tokens; ++t)
    for (uint64_t h = g.hidden; h < ldo; ++h)
      ASSERT_EQ(std::memcmp(&before[t * ldo + h], &got_all[t * ldo + h], 4), 0) << "padding of out row " << t << " was written";
  EXPECT_TRUE(results[0] == results[1]) << "two runs of the same input are not bit-identical";
  EXPECT_TRUE(results[0] == results[2]) << "the result depends on the row layout (expert order), not only on the slots";
}

INSTANTIATE_TEST_SUITE_P(ops, MoeUnpermute,
                         testing::Combine(testing::ValuesIn(device_ids()), testing::ValuesIn(unperm_cases())),
                         case_name<UnpermCase>);

// permute -> (identity experts) -> unpermute on the device: out[t] = sum over kept j of w[t][j] x[t].
class MoeRoundTrip : public DeviceTest {};

TEST_P(MoeRoundTrip, PermuteThenUnpermute) {
  const uint64_t tokens = 13, top_k = 4, experts = 10, hidden = 96;
  const std::vector<int32_t> ids = make_ids(tokens, top_k, experts, -2, 12, 66);
  const std::vector<float> x = random_values(tokens * hidden, 67), w = random_values(tokens * top_k, 68);
  Buffer X = upload(id(), x), I = upload(id(), ids), W = upload(id(), w), Y, O, P;
  DSHAL_ASSERT_OK(dev().alloc(tokens * top_k * hidden * 4, &Y));
  DSHAL_ASSERT_OK(dev().alloc((experts + 1) * 4, &O));
  DSHAL_ASSERT_OK(dev().alloc(tokens * top_k * 4, &P));
  GuardedInit out(id(), std::vector<std::byte>(tokens * hidden * 4, std::byte{0}));
  auto p = desc<dshal_moe_permute_desc>();
  p.tokens = tokens;
  p.top_k = top_k;
  p.experts = experts;
  p.hidden = hidden;
  p.x = tensor(X, F32, hidden);
  p.topk_ids = ref(I);
  p.out = tensor(Y, F32, hidden);
  p.expert_offsets = ref(O);
  p.perm = ref(P);
  DSHAL_ASSERT_OK(str().moe_permute(p));
  auto u = desc<dshal_moe_unpermute_desc>();
  u.tokens = tokens;
  u.top_k = top_k;
  u.hidden = hidden;
  u.y = tensor(Y, F32, hidden);
  u.perm = ref(P);
  u.weights = ref(W);
  u.out = out.view(F32, hidden);
  DSHAL_ASSERT_OK(str().moe_unpermute(u));
  DSHAL_ASSERT_OK(str().synchronize());
  const std::vector<float> got = out.buf.read<float>();
  std::vector<double> ref_v, bound;
  for (uint64_t t = 0; t < tokens; ++t)
    for (uint64_t h = 0; h < hidden; ++h) {
      double s = 0, mag = 0;
      for (uint64_t j = 0; j < top_k; ++j) {
        const int32_t e = ids[t * top_k + j];
        if (e < 0 || uint64_t(e) >= experts) continue;
        s += double(w[t * top_k + j]) * x[t * hidden + h];
        mag += std::fabs(double(w[t * top_k + j]) * x[t * hidden + h]);
      }
      ref_v.push_back(s);
      bound.push_back(2.0 * double(top_k + 2) * kU * mag);
    }
  expect_within(compare(ref_v, got, bound), "permute -> unpermute round trip");
}

DSHAL_INSTANTIATE(ops, MoeRoundTrip);

// ------------------------------------------------------------------------------------------------
// embedding: a gather; exact when the output type holds the table's values, else one rounding.

struct EmbCase {
  const char* name;
  uint64_t tokens, vocab, hidden;
  dshal_dtype tt, ot;
  uint64_t table_pad, out_pad;
};

const std::vector<EmbCase>& emb_cases() {
  static const std::vector<EmbCase> v = {
      {"f32", 9, 17, 24, F32, F32, 0, 0},
      {"bf16_padded", 11, 50, 33, BF16, BF16, 3, 5},
      {"bf16_to_f32", 8, 30, 64, BF16, F32, 0, 2},
      {"f32_to_bf16", 8, 30, 64, F32, BF16, 1, 0},
      {"f16_to_f32", 5, 7, 10, F16, F32, 0, 0},
      {"vocab_1", 4, 1, 16, F32, F32, 0, 0},
      {"ds_hidden_7168_bf16", 64, 1000, 7168, BF16, BF16, 0, 0},
  };
  return v;
}

using EmbParam = std::tuple<std::string, EmbCase>;
class Embedding : public testing::TestWithParam<EmbParam> {};

TEST_P(Embedding, GathersRows) {
  const auto& [id, g] = GetParam();
  if (auto why = missing_storage(device(id), {g.tt, g.ot}); !why.empty()) GTEST_SKIP() << why;
  const uint64_t ldt = g.hidden + g.table_pad, ldo = g.hidden + g.out_pad;
  const std::vector<float> table = random_values(g.vocab * ldt, 31, g.tt);
  std::vector<int32_t> ids(g.tokens);
  const std::vector<float> r = random_values(g.tokens, 32);
  for (uint64_t t = 0; t < g.tokens; ++t) ids[t] = int32_t(std::min<double>(g.vocab - 1, (r[t] + 1) / 2 * g.vocab));
  ids[0] = int32_t(g.vocab - 1);
  ids[1] = 0;
  ids[2] = ids[3];  // a repeat
  Buffer T = upload_as(id, table, g.tt), I = upload(id, ids);
  const std::vector<float> out0 = random_values(g.tokens * ldo, 33, g.ot);
  GuardedInit out(id, encode(out0, g.ot));
  auto d = desc<dshal_embedding_desc>();
  d.tokens = g.tokens;
  d.vocab = g.vocab;
  d.hidden = g.hidden;
  d.table = tensor(T, g.tt, ldt);
  d.ids = ref(I);
  d.out = out.view(g.ot, ldo);
  DSHAL_ASSERT_OK(stream(id).embedding(d));
  DSHAL_ASSERT_OK(stream(id).synchronize());
  const std::vector<float> got_all = decode(out.buf.read_checked(), g.ot), before = decode(encode(out0, g.ot), g.ot);
  const bool exact = g.ot == F32 || g.ot == g.tt;
  std::vector<double> ref_v, bound;
  std::vector<float> got;
  for (uint64_t t = 0; t < g.tokens; ++t)
    for (uint64_t h = 0; h < ldo; ++h) {
      if (h >= g.hidden) {
        ASSERT_EQ(std::memcmp(&before[t * ldo + h], &got_all[t * ldo + h], 4), 0) << "padding of out row " << t << " was written";
        continue;
      }
      const double v = table[ids[t] * ldt + h];
      ref_v.push_back(v);
      bound.push_back(exact ? 0.0 : out_rounding(g.ot) * std::fabs(v) + out_abs(g.ot));
      got.push_back(got_all[t * ldo + h]);
    }
  expect_within(compare(ref_v, got, bound), fmt::format("embedding {}", g.name));
}

INSTANTIATE_TEST_SUITE_P(ops, Embedding, testing::Combine(testing::ValuesIn(device_ids()), testing::ValuesIn(emb_cases())),
                         case_name<EmbCase>);

// A bad id is INVALID_ARGUMENT, from the call or (work runs asynchronously) from the next
// synchronize — with a message, even when more work was queued behind it; reported once; the stream
// works afterwards.
class EmbeddingErrors : public DeviceTest {
 protected:
  dshal_embedding_desc make(const Buffer& table, const Buffer& ids, const Guarded& out) const {
    auto d = desc<dshal_embedding_desc>();
    d.tokens = 4;
    d.vocab = 8;
    d.hidden = 16;
    d.table = tensor(table, F32, 16);
    d.ids = ref(ids);
    d.out = tensor(out.buffer(), F32, 16, out.offset());
    return d;
  }
};

TEST_P(EmbeddingErrors, BadIdIsReportedNeverLost) {
  const std::vector<float> table = random_values(8 * 16, 41);
  Buffer T = upload(id(), table);
  Buffer good = upload(id(), std::vector<int32_t>{3, 0, 7, 3});
  for (const std::vector<int32_t>& bad_ids : {std::vector<int32_t>{1, 8, 2, 0}, std::vector<int32_t>{-1, 0, 0, 0},
                                              std::vector<int32_t>{0, 0, 0, std::numeric_limits<int32_t>::min()}}) {
    SCOPED_TRACE(fmt::format("ids {}", fmt::join(bad_ids, ",")));
    Buffer bad = upload(id(), bad_ids);
    Guarded out(id(), 4 * 16 * 4), scratch(id(), 64);
    const Status call = str().embedding(make(T, bad, out));
    if (call.ok()) {
      // More work behind the failing op must not hide its error.
      const uint32_t pattern = 0x3f800000u;
      DSHAL_ASSERT_OK(str().fill(scratch.buffer(), scratch.offset(), 64, &pattern, 4));
      const Status sync = str().synchronize();
      EXPECT_EQ(sync.code(), DSHAL_ERROR_INVALID_ARGUMENT) << "the bad id was not reported: " << sync.to_string();
      if (!sync.ok()) {
        EXPECT_FALSE(sync.message().empty()) << "an error needs a message";
      }
    } else {
      EXPECT_EQ(call.code(), DSHAL_ERROR_INVALID_ARGUMENT) << call.to_string();
      EXPECT_FALSE(call.message().empty()) << "an error needs a message";
    }
    DSHAL_ASSERT_OK(str().synchronize());  // reported once: the next synchronize is clean
    // The stream works again: a good gather on it.
    DSHAL_ASSERT_OK(str().embedding(make(T, good, out)));
    DSHAL_ASSERT_OK(str().synchronize());
    const std::vector<float> got = out.read<float>();
    const int32_t want_ids[] = {3, 0, 7, 3};
    for (uint64_t t = 0; t < 4; ++t)
      for (uint64_t h = 0; h < 16; ++h)
        ASSERT_EQ(got[t * 16 + h], table[want_ids[t] * 16 + h]) << "after the error, row " << t << " col " << h;
  }
}

DSHAL_INSTANTIATE(ops, EmbeddingErrors);

}  // namespace
}  // namespace dshal::conformance
