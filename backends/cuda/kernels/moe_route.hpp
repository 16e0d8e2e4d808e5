// Thread body of moe_route (hd.hpp explains the pattern): one thread per token, no scratch memory.
// Scores and choices are recomputed from the logits when needed instead of stored, and each top-k
// is found by repeated "best element ranking after the previous pick" scans, which under the host's
// strict total order (ranks_before) yields exactly the host's partial_sort prefix.
#pragma once

#include "hd.hpp"

#include <cmath>

namespace dshal::cuda::kernels {

struct MoeRouteArgs {
  const float* logits = nullptr;  // [tokens][ld]
  uint64_t ld = 0;
  const float* bias = nullptr;    // [experts] or nullptr
  int32_t* ids = nullptr;         // [tokens][top_k]
  float* weights = nullptr;       // [tokens][top_k]
  uint64_t tokens = 0, experts = 0, top_k = 0;
  uint64_t groups = 1, topk_group = 1;  // groups = dshal_moe_route_groups(desc)
  dshal_moe_scoring scoring = DSHAL_MOE_SCORING_SOFTMAX;
  dshal_moe_topk_method method = DSHAL_MOE_TOPK_GREEDY;
  uint32_t norm_topk_prob = 0;
  float routed_scaling_factor = 1.0f;
};
inline LaunchShape moe_route_shape(const MoeRouteArgs& a) { return cover_1d(a.tokens, 64); }

// Strict "a ranks before b" as the host: larger value first (NaN largest, as torch.topk), then the
// lower index. A total order, so every element has one rank whatever the ties.
DSHAL_HD inline bool moe_ranks_before(float va, uint64_t a, float vb, uint64_t b) {
  const bool na = va != va, nb = vb != vb;
  if (na != nb) return na;
  if (!na && va != vb) return va > vb;
  return a < b;
}

// One token's scores and choices, computed on demand with the host's operations in its order.
struct MoeTokenScores {
  const float* l;
  const float* bias;
  dshal_moe_scoring scoring;
  float max = -INFINITY, sum = 0.0f;  // softmax only

  DSHAL_HD MoeTokenScores(const MoeRouteArgs& a, uint64_t t) : l(a.logits + t * a.ld), bias(a.bias), scoring(a.scoring) {
    if (scoring != DSHAL_MOE_SCORING_SOFTMAX) return;
    for (uint64_t e = 0; e < a.experts; ++e) max = max < l[e] ? l[e] : max;  // std::max(max, l[e])
    for (uint64_t e = 0; e < a.experts; ++e) sum += expf(l[e] - max);
  }
  DSHAL_HD float score(uint64_t e) const {
    if (scoring == DSHAL_MOE_SCORING_SOFTMAX) return expf(l[e] - max) / sum;
    return 1.0f / (1.0f + expf(-l[e]));
  }
  DSHAL_HD float choice(uint64_t e) const { return bias ? score(e) + bias[e] : score(e); }
};

// Score of group g: the max of its choices (group-limited greedy) or the sum of its top 2
// (noaux_tc), with the host's comparisons.
DSHAL_HD inline float moe_group_score(const MoeRouteArgs& a, const MoeTokenScores& s, uint64_t g) {
  const uint64_t size = a.experts / a.groups, e0 = g * size;
  if (a.method == DSHAL_MOE_TOPK_GROUP_LIMITED_GREEDY || size < 2) {
    float m = s.choice(e0);
    for (uint64_t i = 1; i < size; ++i) {
      const float c = s.choice(e0 + i);
      m = m < c ? c : m;  // std::max(m, c): a NaN m stays, a NaN c is skipped
    }
    return m;
  }
  uint64_t ia = 0, ib = 1;
  float ca = s.choice(e0), cb = s.choice(e0 + 1);
  if (moe_ranks_before(cb, ib, ca, ia)) {
    const float tc = ca; ca = cb; cb = tc;
    ia = 1; ib = 0;
  }
  for (uint64_t i = 2; i < size; ++i) {
    const float c = s.choice(e0 + i);
    if (moe_ranks_before(c, i, ca, ia)) { cb = ca; ib = ia; ca = c; ia = i; }
    else if (moe_ranks_before(c, i, cb, ib)) { cb = c; ib = i; }
  }
  return ca + cb;
}

DSHAL_HD inline void moe_route_thread(Index3 block, Index3 thread, Index3 block_dim, const MoeRouteArgs& a) {
  const uint64_t t = flat_x(block, thread, block_dim);
  if (t >= a.tokens) return;
  const MoeTokenScores s(a, t);
  const uint64_t size = a.experts / a.groups;
  const bool grouped = a.groups > 1;

  // The last kept group (the topk_group-th in rank order): group g is kept iff it does not rank
  // after it. Found by topk_group successor scans over the group scores.
  float last_score = 0.0f;
  uint64_t last_group = 0;
  if (grouped) {
    for (uint64_t r = 0; r < a.topk_group; ++r) {
      bool found = false;
      float best = 0.0f;
      uint64_t best_g = 0;
      for (uint64_t g = 0; g < a.groups; ++g) {
        const float v = moe_group_score(a, s, g);
        if (r > 0 && !moe_ranks_before(last_score, last_group, v, g)) continue;  // already picked
        if (!found || moe_ranks_before(v, g, best, best_g)) { found = true; best = v; best_g = g; }
      }
      last_score = best;
      last_group = best_g;
    }
  }
  // Experts of dropped groups count as 0 (group-limited greedy) or -inf (noaux_tc), as adapter.h.
  const float masked = a.method == DSHAL_MOE_TOPK_NOAUX_TC ? -INFINITY : 0.0f;

  int32_t* ids = a.ids + t * a.top_k;
  float* w = a.weights + t * a.top_k;
  const uint64_t k = a.top_k < a.experts ? a.top_k : a.experts;
  float prev = 0.0f, sum = 0.0f;
  uint64_t prev_e = 0;
  for (uint64_t j = 0; j < k; ++j) {
    bool found = false, kept = true;
    float best = 0.0f;
    uint64_t best_e = 0;
    for (uint64_t e = 0; e < a.experts; ++e) {
      if (grouped && e % size == 0) {
        const uint64_t g = e / size;
        kept = !moe_ranks_before(last_score, last_group, moe_group_score(a, s, g), g);
      }
      const float v = kept ? s.choice(e) : masked;
      if (j > 0 && !moe_ranks_before(prev, prev_e, v, e)) continue;  // picked in an earlier round
      if (!found || moe_ranks_before(v, e, best, best_e)) { found = true; best = v; best_e = e; }
    }
    prev = best;
    prev_e = best_e;
    ids[j] = int32_t(best_e);
    w[j] = s.score(best_e);
    sum += w[j];
  }
  if (a.norm_topk_prob) {
    const float denominator = sum + 1e-20f;
    for (uint64_t j = 0; j < k; ++j) w[j] /= denominator;
  }
  for (uint64_t j = 0; j < k; ++j) w[j] *= a.routed_scaling_factor;
  for (uint64_t j = k; j < a.top_k; ++j) {  // top_k > experts (hal rejects it): no expert, as the host
    ids[j] = -1;
    w[j] = 0.0f;
  }
}

}  // namespace dshal::cuda::kernels
