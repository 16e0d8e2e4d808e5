#version 450
// moe_route: one workgroup per token: softmax / sigmoid scores, the optional bias, the group cut
// (group-limited greedy or noaux_tc) and the top_k, with the host kernel's order and tie-breaking
// (hal/host/ops/moe_route.cpp). Plain greedy runs as one kept group.
#extension GL_GOOGLE_include_directive : require
#include "bind.glsl"
#include "dtype.glsl"

#define WG 64u
#define SCORING_SIGMOID 1u
#define TOPK_GROUP_LIMITED_GREEDY 1u
#define TOPK_NOAUX_TC 2u
#define NEG_INF uintBitsToFloat(0xff800000u)

// Room for the experts (and so for the groups and the picks), a multiple of WG chosen by the host.
layout(constant_id = 0) const uint CAP = 256;

layout(local_size_x = 64) in;
layout(push_constant) uniform Params {
  uvec2 addr[4];  // logits, bias (logits again when there is none), topk_ids, topk_weights
  uint logits_off, ldl, bias_off, has_bias;
  uint ids_off, weights_off, token_base, experts;
  uint top_k, scoring, method, groups;
  uint topk_group, norm_topk_prob;
  float scaling;
} p;

shared float score[CAP];
shared float choice[CAP];
shared float gscore[CAP];
shared uint picked[CAP];
shared float scratch[WG];

// Strict "a ranks before b": larger value first (NaN largest, as torch.topk), then lower index.
// A total order: every element has a unique rank, whatever the ties.
bool ranks_before(float va, uint a, float vb, uint b) {
  const bool na = isnan(va), nb = isnan(vb);
  if (na != nb) return na;
  if (!na && va != vb) return va > vb;
  return a < b;
}

// The rank of choice[i] (gscore[i]) among the first n, counted only up to `limit`: all a caller
// needs is whether it is below, and most elements get there after a few comparisons. Two copies,
// as GLSL cannot pass a shared array by reference.
uint choice_rank_below(uint n, uint i, uint limit) {
  uint rank = 0u;
  for (uint j = 0u; j < n && rank < limit; ++j) rank += ranks_before(choice[j], j, choice[i], i) ? 1u : 0u;
  return rank;
}
uint group_rank_below(uint n, uint i, uint limit) {
  uint rank = 0u;
  for (uint j = 0u; j < n && rank < limit; ++j) rank += ranks_before(gscore[j], j, gscore[i], i) ? 1u : 0u;
  return rank;
}

// Score of the group of choices from `first`: the max (group-limited greedy) or the sum of the
// top 2 (noaux_tc), with the host kernel's comparisons.
float group_score(uint first, uint size) {
  if (p.method == TOPK_GROUP_LIMITED_GREEDY || size < 2u) {
    float m = choice[first];
    for (uint i = 1u; i < size; ++i) m = m < choice[first + i] ? choice[first + i] : m;
    return m;
  }
  uint a = 0u, b = 1u;
  if (ranks_before(choice[first + 1u], 1u, choice[first], 0u)) { a = 1u; b = 0u; }
  for (uint i = 2u; i < size; ++i) {
    if (ranks_before(choice[first + i], i, choice[first + a], a)) { b = a; a = i; }
    else if (ranks_before(choice[first + i], i, choice[first + b], b)) b = i;
  }
  return choice[first + a] + choice[first + b];
}

// Tree reductions over the workgroup; every invocation gets the result.
float workgroup_max(float v) {
  const uint lid = gl_LocalInvocationID.x;
  scratch[lid] = v;
  barrier();
  for (uint half_n = WG / 2u; half_n > 0u; half_n /= 2u) {
    if (lid < half_n) scratch[lid] = max(scratch[lid], scratch[lid + half_n]);
    barrier();
  }
  const float r = scratch[0];
  barrier();
  return r;
}
float workgroup_sum(float v) {
  const uint lid = gl_LocalInvocationID.x;
  scratch[lid] = v;
  barrier();
  for (uint half_n = WG / 2u; half_n > 0u; half_n /= 2u) {
    if (lid < half_n) scratch[lid] = scratch[lid] + scratch[lid + half_n];
    barrier();
  }
  const float r = scratch[0];
  barrier();
  return r;
}

float logit(uint t, uint e) { return uintBitsToFloat(WORDS(0)[(p.logits_off >> 2) + t * p.ldl + e]); }

void main() {
  const uint t = gl_WorkGroupID.x + p.token_base, lid = gl_LocalInvocationID.x, E = p.experts;
  // Softmax's row max and sum of exp(l - m) (computed for sigmoid too, unused), so that every
  // barrier stays in uniform control flow.
  float m = NEG_INF, sum = 0.0;
  for (uint e = lid; e < E; e += WG) m = max(m, logit(t, e));
  m = workgroup_max(m);
  for (uint e = lid; e < E; e += WG) sum += exp(logit(t, e) - m);
  sum = workgroup_sum(sum);
  for (uint e = lid; e < E; e += WG) {
    const float l = logit(t, e);
    const float v = p.scoring == SCORING_SIGMOID ? 1.0 / (1.0 + exp(-l)) : exp(l - m) / sum;
    score[e] = v;
    choice[e] = p.has_bias != 0u ? v + uintBitsToFloat(WORDS(1)[(p.bias_off >> 2) + e]) : v;
  }
  barrier();

  const uint size = E / p.groups;
  for (uint g = lid; g < p.groups; g += WG) gscore[g] = group_score(g * size, size);
  barrier();
  const float masked = p.method == TOPK_NOAUX_TC ? NEG_INF : 0.0;
  for (uint g = lid; g < p.groups; g += WG)
    if (group_rank_below(p.groups, g, p.topk_group) >= p.topk_group)
      for (uint i = 0u; i < size; ++i) choice[g * size + i] = masked;
  barrier();

  for (uint e = lid; e < E; e += WG) {
    const uint rank = choice_rank_below(E, e, p.top_k);
    if (rank < p.top_k) picked[rank] = e;
  }
  barrier();
  for (uint j = lid; j < p.top_k; j += WG) {
    float w = score[picked[j]];
    if (p.norm_topk_prob != 0u) {
      precise float total = 0.0;  // in rank order, as the host kernel
      for (uint i = 0u; i < p.top_k; ++i) total += score[picked[i]];
      w /= total + 1e-20;
    }
    WORDS(2)[(p.ids_off >> 2) + t * p.top_k + j] = picked[j];
    WORDS(3)[(p.weights_off >> 2) + t * p.top_k + j] = floatBitsToUint(w * p.scaling);
  }
}
