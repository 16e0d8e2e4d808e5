// moe_route: the thread body over its launch shape against hal/host's kernel, bit for bit (ids and
// weights: the same operations in the same order), for DeepSeek V2 / V3 shapes and the edges of the
// contract: ties (lower expert first), NaN logits, every kept choice negative (dropped groups' 0
// then ranks first), top_k taking every kept expert, groups that keep everything, padded logits.
#include "moe_route.hpp"
#include "test_support.hpp"

#include <cmath>

namespace dshal::cuda::kernels {
namespace {

using test::HostBytes;

struct RouteCase {
  const char* name;
  uint64_t tokens, experts, top_k;
  dshal_moe_scoring scoring;
  dshal_moe_topk_method method;
  uint64_t n_group, topk_group;
  uint32_t norm;
  float scale;
  int bias;        // 0 none, 1 small values around 0, 2 all -2 (every kept choice negative)
  int logits;      // 0 smooth, 1 four levels (many ties), 2 smooth with some NaN
  uint64_t pad;    // logits ld = experts + pad
};

// gtest names a failing case by this rather than by the struct's bytes.
void PrintTo(const RouteCase& c, std::ostream* os) { *os << c.name; }

class MoeRoute : public testing::TestWithParam<RouteCase> {};

std::vector<float> logits_of(const RouteCase& c, uint64_t ld) {
  std::vector<float> l(c.tokens * ld, 1e30f);  // padding: would win any top-k if read
  uint32_t x = 12345u;
  for (uint64_t t = 0; t < c.tokens; ++t)
    for (uint64_t e = 0; e < c.experts; ++e) {
      x = x * 1664525u + 1013904223u;
      float v = (float(x >> 8) / float(1u << 24) * 2.0f - 1.0f) * 4.0f;
      if (c.logits == 1) v = std::floor(v);  // -4 .. 3: ties inside and across groups
      if (c.logits == 2 && (x >> 5) % 13 == 0) v = NAN;
      l[t * ld + e] = v;
    }
  return l;
}

TEST_P(MoeRoute, MatchesHostKernel) {
  const RouteCase& c = GetParam();
  const uint64_t ld = c.experts + c.pad, k = c.top_k;
  std::vector<float> logits = logits_of(c, ld), bias(c.experts);
  for (uint64_t e = 0; e < c.experts; ++e) bias[e] = c.bias == 2 ? -2.0f : float(int(e % 7) - 3) * 0.01f;

  HostBytes hl(logits.size() * 4), hb(bias.size() * 4), hids(c.tokens * k * 4), hw(c.tokens * k * 4);
  std::memcpy(hl.bytes.data(), logits.data(), hl.bytes.size());
  std::memcpy(hb.bytes.data(), bias.data(), hb.bytes.size());
  dshal_moe_route_desc d{};
  d.struct_size = sizeof d;
  d.tokens = c.tokens;
  d.experts = c.experts;
  d.top_k = k;
  d.scoring = c.scoring;
  d.method = c.method;
  d.n_group = c.n_group;
  d.topk_group = c.topk_group;
  d.norm_topk_prob = c.norm;
  d.routed_scaling_factor = c.scale;
  d.logits = {hl.handle(), 0, DSHAL_DTYPE_F32, ld};
  d.bias = {c.bias ? hb.handle() : nullptr, 0};
  d.topk_ids = {hids.handle(), 0};
  d.topk_weights = {hw.handle(), 0};
  std::string error;
  ASSERT_EQ(host::moe_route(d, &error), DSHAL_OK) << error;

  std::vector<int32_t> ids(c.tokens * k, -7);
  std::vector<float> w(c.tokens * k, -7.0f);
  MoeRouteArgs a;
  a.logits = logits.data();
  a.ld = ld;
  a.bias = c.bias ? bias.data() : nullptr;
  a.ids = ids.data();
  a.weights = w.data();
  a.tokens = c.tokens;
  a.experts = c.experts;
  a.top_k = k;
  a.groups = dshal_moe_route_groups(&d);
  a.topk_group = c.topk_group;
  a.scoring = c.scoring;
  a.method = c.method;
  a.norm_topk_prob = c.norm;
  a.routed_scaling_factor = c.scale;
  const LaunchShape shape = moe_route_shape(a);
  ASSERT_GE(uint64_t(shape.grid.x) * shape.block.x, c.tokens);
  for_each_thread(shape, [&](Index3 b, Index3 th) { moe_route_thread(b, th, shape.block, a); });

  const auto* want_ids = reinterpret_cast<const int32_t*>(hids.bytes.data());
  const auto* want_w = reinterpret_cast<const uint32_t*>(hw.bytes.data());
  for (uint64_t i = 0; i < c.tokens * k; ++i) {
    ASSERT_EQ(ids[i], want_ids[i]) << "token " << i / k << " j " << i % k;
    // Bits, so NaN weights (NaN logits) compare too.
    ASSERT_EQ(f32_to_bits(w[i]), want_w[i]) << "token " << i / k << " j " << i % k << ": " << w[i];
  }
}

constexpr auto SM = DSHAL_MOE_SCORING_SOFTMAX, SG = DSHAL_MOE_SCORING_SIGMOID;
constexpr auto GR = DSHAL_MOE_TOPK_GREEDY, GL = DSHAL_MOE_TOPK_GROUP_LIMITED_GREEDY, TC = DSHAL_MOE_TOPK_NOAUX_TC;

INSTANTIATE_TEST_SUITE_P(
    Cases, MoeRoute,
    testing::Values(
        // DeepSeek V3: 256 experts, top 8, 8 groups of 32 keeping 4, bias, normalized, x2.5.
        RouteCase{"V3", 64, 256, 8, SG, TC, 8, 4, 1, 2.5f, 1, 0, 0},
        // DeepSeek V2-like: softmax, group-limited greedy, no normalization, x16; 131 tokens: a partial block.
        RouteCase{"V2", 131, 160, 6, SM, GL, 8, 3, 0, 16.0f, 0, 0, 0},
        RouteCase{"GreedySoftmaxOneToken", 1, 16, 4, SM, GR, 1, 1, 1, 1.0f, 0, 0, 3},
        RouteCase{"GreedySigmoidBias", 5, 64, 6, SG, GR, 1, 1, 1, 1.0f, 1, 0, 0},
        RouteCase{"TiesNoauxTc", 9, 32, 8, SG, TC, 4, 2, 1, 1.0f, 0, 1, 0},
        RouteCase{"TiesGroupLimited", 9, 32, 8, SM, GL, 4, 2, 1, 1.0f, 0, 1, 0},
        RouteCase{"TopKAllKeptNoauxTc", 6, 32, 16, SG, TC, 4, 2, 1, 1.0f, 1, 0, 0},
        // Every kept choice negative: group-limited greedy ranks dropped experts (0) first, noaux_tc last (-inf).
        RouteCase{"NegativeGroupLimited", 6, 32, 8, SG, GL, 4, 2, 0, 1.0f, 2, 0, 0},
        RouteCase{"NegativeNoauxTc", 6, 32, 8, SG, TC, 4, 2, 0, 1.0f, 2, 0, 0},
        RouteCase{"NanSigmoidNoauxTc", 12, 64, 8, SG, TC, 8, 4, 1, 2.5f, 1, 2, 0},
        // A NaN first in a group: the group's max stays NaN (std::max keeps its first argument).
        RouteCase{"NanSigmoidGroupLimited", 12, 64, 8, SG, GL, 8, 4, 0, 1.0f, 0, 2, 0},
        RouteCase{"NanSoftmaxGreedy", 3, 16, 4, SM, GR, 1, 1, 1, 1.0f, 0, 2, 0},
        // topk_group == n_group keeps every group: plain greedy (dshal_moe_route_groups() == 1).
        RouteCase{"GroupsKeepAll", 7, 64, 8, SG, TC, 4, 4, 1, 1.0f, 1, 0, 5},
        RouteCase{"TwoPerGroup", 4, 16, 3, SG, TC, 8, 3, 1, 1.0f, 1, 1, 0}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace dshal::cuda::kernels
