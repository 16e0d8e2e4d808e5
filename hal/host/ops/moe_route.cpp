// MoE routing host kernel: softmax/sigmoid scores, greedy or group-limited top-k, weight normalization.
#include "host/ops/common.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace dshal::host {
namespace {

// Choice value given to experts of groups that were not kept (adapter.h): 0 for group_limited_greedy
// as transformers' DeepseekV2; -inf for noaux_tc as DeepSeek's own code and transformers' DeepseekV3
// from 5.6 on (older transformers used 0: the two differ only when every kept choice is negative).
inline float masked_choice(dshal_moe_topk_method m) { return m == DSHAL_MOE_TOPK_NOAUX_TC ? -INFINITY : 0.0f; }

// Strict "a ranks before b": larger value first (NaN largest, as torch.topk), then lower index.
inline bool ranks_before(const float* v, uint32_t a, uint32_t b) {
  const bool na = std::isnan(v[a]), nb = std::isnan(v[b]);
  if (na != nb) return na;
  if (!na && v[a] != v[b]) return v[a] > v[b];
  return a < b;
}

// The first k of idx (holding 0 .. n-1) become the top k of v, in rank order.
void top_k(const float* v, std::vector<uint32_t>& idx, uint64_t k) {
  std::iota(idx.begin(), idx.end(), 0u);
  k = std::min<uint64_t>(k, idx.size());
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                    [v](uint32_t a, uint32_t b) { return ranks_before(v, a, b); });
}

}  // namespace

dshal_status moe_route(const dshal_moe_route_desc& d, std::string* error) {
  if (d.tokens == 0 || d.top_k == 0) return DSHAL_OK;
  const uint64_t E = d.experts;
  const float* bias = d.bias.buffer ? host_ptr<const float>(d.bias.buffer, d.bias.offset) : nullptr;
  auto* out_ids = host_ptr<int32_t>(d.topk_ids.buffer, d.topk_ids.offset);
  auto* out_weights = host_ptr<float>(d.topk_weights.buffer, d.topk_weights.offset);
  const uint64_t groups = dshal_moe_route_groups(&d), group_size = E / groups;

  tbb::parallel_for(tbb::blocked_range<uint64_t>(0, d.tokens, 16), [&](const tbb::blocked_range<uint64_t>& range) {
    std::vector<float> scores(E), choice(E), group_score(groups);
    std::vector<uint32_t> idx(E), group_idx(groups);
    std::vector<char> kept(groups);
    for (uint64_t t = range.begin(); t != range.end(); ++t) {
      const float* logits = reinterpret_cast<const float*>(ops::row_ptr(d.logits, t));
      if (d.scoring == DSHAL_MOE_SCORING_SOFTMAX) {
        float max = -INFINITY, sum = 0.0f;
        for (uint64_t e = 0; e < E; ++e) max = std::max(max, logits[e]);
        for (uint64_t e = 0; e < E; ++e) sum += scores[e] = std::exp(logits[e] - max);
        for (uint64_t e = 0; e < E; ++e) scores[e] /= sum;
      } else {
        for (uint64_t e = 0; e < E; ++e) scores[e] = 1.0f / (1.0f + std::exp(-logits[e]));
      }
      for (uint64_t e = 0; e < E; ++e) choice[e] = bias ? scores[e] + bias[e] : scores[e];

      if (groups > 1) {
        for (uint64_t g = 0; g < groups; ++g) {
          const float* c = choice.data() + g * group_size;
          if (d.method == DSHAL_MOE_TOPK_GROUP_LIMITED_GREEDY || group_size < 2) {
            float m = c[0];
            for (uint64_t i = 1; i < group_size; ++i) m = std::max(m, c[i]);
            group_score[g] = m;
          } else {  // NOAUX_TC: sum of the group's top 2
            uint32_t a = 0, b = 1;
            if (ranks_before(c, b, a)) std::swap(a, b);
            for (uint32_t i = 2; i < group_size; ++i) {
              if (ranks_before(c, i, a)) { b = a; a = i; }
              else if (ranks_before(c, i, b)) b = i;
            }
            group_score[g] = c[a] + c[b];
          }
        }
        top_k(group_score.data(), group_idx, d.topk_group);
        std::fill(kept.begin(), kept.end(), 0);
        for (uint64_t i = 0; i < d.topk_group; ++i) kept[group_idx[i]] = 1;
        for (uint64_t g = 0; g < groups; ++g)
          if (!kept[g]) std::fill_n(choice.data() + g * group_size, group_size, masked_choice(d.method));
      }

      top_k(choice.data(), idx, d.top_k);
      int32_t* ids = out_ids + t * d.top_k;
      float* w = out_weights + t * d.top_k;
      const uint64_t k = std::min<uint64_t>(d.top_k, E);
      float sum = 0.0f;
      for (uint64_t j = 0; j < k; ++j) {
        ids[j] = int32_t(idx[j]);
        w[j] = scores[idx[j]];
        sum += w[j];
      }
      if (d.norm_topk_prob) {
        const float denominator = sum + 1e-20f;
        for (uint64_t j = 0; j < k; ++j) w[j] /= denominator;
      }
      for (uint64_t j = 0; j < k; ++j) w[j] *= d.routed_scaling_factor;
      for (uint64_t j = k; j < d.top_k; ++j) {  // top_k > experts (hal rejects it): no expert
        ids[j] = -1;
        w[j] = 0.0f;
      }
    }
  });
  return DSHAL_OK;
}

}  // namespace dshal::host
