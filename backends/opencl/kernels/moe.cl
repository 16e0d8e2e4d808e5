// MoE routing (one work-group per token), permutation into expert order (a one-group index pass,
// then a row gather) and the fixed-order weighted sum back to tokens.
#include "dtype.h"
#include "raw_copy.h"
#include "reduce.h"

// Rounding as the host kernel does it, so weights match it closely and unpermute sums bit for bit.
#pragma OPENCL FP_CONTRACT OFF

#define SCORING_SIGMOID 1
#define TOPK_GROUP_LIMITED_GREEDY 1
#define TOPK_NOAUX_TC 2

// Strict "a ranks before b": larger value first (NaN largest, as torch.topk), then lower index.
// A total order: every element has a unique rank, whatever the ties.
inline bool ranks_before(float va, uint a, float vb, uint b) {
  const bool na = isnan(va), nb = isnan(vb);
  if (na != nb) return na;
  if (!na && va != vb) return va > vb;
  return a < b;
}

// The rank of element i of v[0, n), counted only up to `limit` (all a caller needs to know is
// whether it is below that: most elements get there after a few comparisons).
inline uint rank_below(local const float* v, uint n, uint i, uint limit) {
  uint rank = 0;
  for (uint j = 0; j < n && rank < limit; ++j) rank += ranks_before(v[j], j, v[i], i);
  return rank;
}

// Score of a group of choices: the max (group-limited greedy) or the sum of the top 2 (noaux_tc),
// with the host kernel's comparisons.
inline float group_score(local const float* c, uint size, int method) {
  if (method == TOPK_GROUP_LIMITED_GREEDY || size < 2) {
    float m = c[0];
    for (uint i = 1; i < size; ++i) m = m < c[i] ? c[i] : m;
    return m;
  }
  uint a = 0, b = 1;
  if (ranks_before(c[1], 1, c[0], 0)) { a = 1; b = 0; }
  for (uint i = 2; i < size; ++i) {
    if (ranks_before(c[i], i, c[a], a)) { b = a; a = i; }
    else if (ranks_before(c[i], i, c[b], b)) b = i;
  }
  return c[a] + c[b];
}

// One work-group per token t. The kept groups' choices stand; the others' are masked (0 for
// group-limited greedy, -inf for noaux_tc). Plain greedy is one group with topk_group 1.
// Local memory: score and choice [experts], gscore [groups], picked [top_k], scratch [local size].
// Every barrier is outside conditional code: PoCL 3.1 miscompiled this kernel when the softmax
// reductions sat in a (uniform) branch, with more work-items than experts (the first experts'
// choices came out divided by the sum twice).
kernel void moe_route(global const uchar* logits, ulong logits_off, ulong ldl,
                      global const uchar* bias, ulong bias_off, int has_bias,
                      global uchar* ids, ulong ids_off, global uchar* weights, ulong weights_off,
                      uint experts, uint top_k, int scoring, int method, uint groups, uint topk_group,
                      int norm_topk_prob, float scaling, local float* score, local float* choice,
                      local float* gscore, local uint* picked, local float* scratch) {
  const ulong t = get_group_id(0);
  const uint lid = get_local_id(0), n = get_local_size(0);
  global const float* l = (global const float*)(logits + logits_off) + t * ldl;
  global const float* b = (global const float*)(bias + bias_off);
  // Softmax's row max and sum of exp(l - m) (computed for sigmoid too, unused).
  float m = -INFINITY, sum = 0.0f;
  for (uint e = lid; e < experts; e += n) m = fmax(m, l[e]);
  m = group_max(scratch, m);
  for (uint e = lid; e < experts; e += n) sum += exp(l[e] - m);
  sum = group_sum(scratch, sum);
  for (uint e = lid; e < experts; e += n) {
    const float v = scoring == SCORING_SIGMOID ? 1.0f / (1.0f + exp(-l[e])) : exp(l[e] - m) / sum;
    score[e] = v;
    choice[e] = has_bias ? v + b[e] : v;
  }
  barrier(CLK_LOCAL_MEM_FENCE);

  const uint size = experts / groups;
  for (uint g = lid; g < groups; g += n) gscore[g] = group_score(choice + g * size, size, method);
  barrier(CLK_LOCAL_MEM_FENCE);
  const float masked = method == TOPK_NOAUX_TC ? -INFINITY : 0.0f;
  for (uint g = lid; g < groups; g += n)
    if (rank_below(gscore, groups, g, topk_group) >= topk_group)
      for (uint i = 0; i < size; ++i) choice[g * size + i] = masked;
  barrier(CLK_LOCAL_MEM_FENCE);

  for (uint e = lid; e < experts; e += n) {
    const uint rank = rank_below(choice, experts, e, top_k);
    if (rank < top_k) picked[rank] = e;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint j = lid; j < top_k; j += n) {
    float w = score[picked[j]];
    if (norm_topk_prob) {
      float total = 0.0f;  // in rank order, as the host kernel
      for (uint i = 0; i < top_k; ++i) total += score[picked[i]];
      w /= total + 1e-20f;
    }
    ((global int*)(ids + ids_off))[t * top_k + j] = (int)picked[j];
    ((global float*)(weights + weights_off))[t * top_k + j] = w * scaling;
  }
}

// The permutation, in one work-group: the work-item of expert e counts its slots, work-item 0 turns
// the counts into offsets, then e's work-item lists its slots in slot order (stable by
// construction), and the rows past the kept ones get perm -1.
kernel void moe_permute_index(global const uchar* topk_ids, ulong ids_off, global uchar* expert_offsets, ulong off_off,
                              global uchar* perm, ulong perm_off, ulong experts, ulong slots) {
  global const int* id = (global const int*)(topk_ids + ids_off);
  global int* offsets = (global int*)(expert_offsets + off_off);
  global int* p_of = (global int*)(perm + perm_off);
  const uint lid = get_local_id(0), n = get_local_size(0);
  for (ulong e = lid; e < experts; e += n) {
    int count = 0;
    for (ulong s = 0; s < slots; ++s) count += (long)id[s] == (long)e;
    offsets[e + 1] = count;
  }
  barrier(CLK_GLOBAL_MEM_FENCE);
  if (lid == 0) {
    offsets[0] = 0;
    for (ulong e = 0; e < experts; ++e) offsets[e + 1] += offsets[e];
  }
  barrier(CLK_GLOBAL_MEM_FENCE);
  for (ulong e = lid; e < experts; e += n) {
    int p = offsets[e];
    for (ulong s = 0; s < slots; ++s)
      if ((long)id[s] == (long)e) p_of[p++] = (int)s;
  }
  for (ulong p = (ulong)offsets[experts] + lid; p < slots; p += n) p_of[p] = -1;
}

// out[p] = x[perm[p] / top_k] for the kept rows p, one work-item per element (h, p).
kernel void moe_permute_gather(global const uchar* x, ulong x_off, ulong ldx, global uchar* out, ulong out_off,
                               ulong ldo, int dt, global const uchar* expert_offsets, ulong off_off,
                               global const uchar* perm, ulong perm_off, ulong experts, ulong top_k, ulong hidden,
                               ulong slots) {
  const ulong h = get_global_id(0), p = get_global_id(1);
  if (h >= hidden || p >= slots) return;
  if (p >= (ulong)((global const int*)(expert_offsets + off_off))[experts]) return;
  const ulong src = (ulong)((global const int*)(perm + perm_off))[p] / top_k;
  copy_elem(out + out_off, p * ldo + h, x + x_off, src * ldx + h, dt);
}

// out[t] = (accumulate ? out[t] : 0) + sum over j in order of weights[t][j] * y[row of slot t*top_k+j].
// Work-group (b, c) takes tokens [b * block, +block) and columns [c * chunk, +chunk): it first finds
// its slots' rows by scanning perm into local memory (row_of, -1 for a slot not kept), then sums
// each element in j order, so results do not depend on the row layout.
kernel void moe_unpermute(global const uchar* y, ulong y_off, int y_dt, ulong ldy,
                          global const uchar* perm, ulong perm_off, global const uchar* weights, ulong weights_off,
                          global uchar* out, ulong out_off, int out_dt, ulong ldo, ulong tokens, ulong top_k,
                          ulong hidden, int accumulate, ulong block, ulong chunk, local int* row_of) {
  global const int* p_of = (global const int*)(perm + perm_off);
  global const float* w = (global const float*)(weights + weights_off);
  const uint lid = get_local_id(0), n = get_local_size(0);
  const ulong t0 = get_group_id(0) * block, t1 = min(tokens, t0 + block);
  const ulong h0 = get_group_id(1) * chunk, width = min(hidden, h0 + chunk) - h0;
  const ulong slots = tokens * top_k, s0 = t0 * top_k, s1 = t1 * top_k;
  for (ulong i = lid; i < s1 - s0; i += n) row_of[i] = -1;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (ulong p = lid; p < slots; p += n) {
    const int s = p_of[p];
    if (s >= 0 && (ulong)s >= s0 && (ulong)s < s1) row_of[s - s0] = (int)p;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  for (ulong i = lid; i < (t1 - t0) * width; i += n) {
    const ulong t = t0 + i / width, h = h0 + i % width;
    float acc = accumulate ? load_elem(out + out_off, t * ldo + h, out_dt) : 0.0f;
    for (ulong j = 0; j < top_k; ++j) {
      const int p = row_of[(t - t0) * top_k + j];
      if (p >= 0) acc += w[t * top_k + j] * load_elem(y + y_off, (ulong)p * ldy + h, y_dt);
    }
    store_elem(out + out_off, t * ldo + h, out_dt, acc);
  }
}
