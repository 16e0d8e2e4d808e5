// Thread bodies of attention (MLA naive and absorbed) in three launches over an f32 scratch of
// scores [q_len][heads][kv_len]: scores (one thread per query, head and key), softmax (one thread
// per query and head: max, exp, sum and normalization in key order), and the output (one thread per
// query, head and value column, summing over keys in order). Accumulation in f32 throughout.
#pragma once

#include "hd.hpp"

#include <cmath>

namespace dshal::cuda::kernels {

// One operand of attention: element i of token t, head h at (t * token_stride + h * head_stride + i).
struct HeadView {
  const void* base = nullptr;
  dshal_dtype dtype = DSHAL_DTYPE_F32;
  uint64_t token_stride = 0, head_stride = 0;
  DSHAL_HD float at(uint64_t t, uint64_t h, uint64_t i) const {
    return load(base, dtype, t * token_stride + h * head_stride + i);
  }
};

struct AttentionArgs {
  HeadView q, k, v;
  void* out = nullptr;
  dshal_dtype out_dtype = DSHAL_DTYPE_F32;
  uint64_t out_token_stride = 0, out_head_stride = 0;
  uint64_t q_len = 0, kv_len = 0, heads = 0, kv_heads = 1, qk_dim = 0, v_dim = 0;
  float scale = 1.0f;
  bool causal = false;
  uint64_t q_offset = 0;
  float* scores = nullptr;  // [q_len][heads][kv_len] scratch
  DSHAL_HD uint64_t kv_head(uint64_t h) const { return h * kv_heads / heads; }
};

inline LaunchShape attention_scores_shape(const AttentionArgs& a) { return cover_1d(a.q_len * a.heads * a.kv_len); }
inline LaunchShape attention_softmax_shape(const AttentionArgs& a) { return cover_1d(a.q_len * a.heads, 128); }
inline LaunchShape attention_output_shape(const AttentionArgs& a) { return cover_1d(a.q_len * a.heads * a.v_dim); }

DSHAL_HD inline void attention_scores_thread(Index3 block, Index3 thread, Index3 block_dim, const AttentionArgs& a) {
  const uint64_t i = flat_x(block, thread, block_dim);
  if (i >= a.q_len * a.heads * a.kv_len) return;
  const uint64_t j = i % a.kv_len, row = i / a.kv_len, h = row % a.heads, t = row / a.heads;
  if (a.causal && j > t + a.q_offset) {
    a.scores[i] = -INFINITY;
    return;
  }
  const uint64_t kvh = a.kv_head(h);
  float dot = 0.0f;
  for (uint64_t c = 0; c < a.qk_dim; ++c) dot += a.q.at(t, h, c) * a.k.at(j, kvh, c);
  a.scores[i] = a.scale * dot;
}

// Row (t, h) of the scores becomes its softmax. Masked keys (-inf) get 0.
DSHAL_HD inline void attention_softmax_thread(Index3 block, Index3 thread, Index3 block_dim, const AttentionArgs& a) {
  const uint64_t row = flat_x(block, thread, block_dim);
  if (row >= a.q_len * a.heads) return;
  float* s = a.scores + row * a.kv_len;
  float max = -INFINITY;
  for (uint64_t j = 0; j < a.kv_len; ++j) max = s[j] > max ? s[j] : max;
  float sum = 0.0f;
  for (uint64_t j = 0; j < a.kv_len; ++j) {
    s[j] = s[j] == -INFINITY ? 0.0f : expf(s[j] - max);
    sum += s[j];
  }
  const float inv = 1.0f / sum;
  for (uint64_t j = 0; j < a.kv_len; ++j) s[j] *= inv;
}

DSHAL_HD inline void attention_output_thread(Index3 block, Index3 thread, Index3 block_dim, const AttentionArgs& a) {
  const uint64_t i = flat_x(block, thread, block_dim);
  if (i >= a.q_len * a.heads * a.v_dim) return;
  const uint64_t d = i % a.v_dim, row = i / a.v_dim, h = row % a.heads, t = row / a.heads;
  const uint64_t kvh = a.kv_head(h);
  const float* p = a.scores + row * a.kv_len;
  float acc = 0.0f;
  for (uint64_t j = 0; j < a.kv_len; ++j) acc += p[j] * a.v.at(j, kvh, d);
  store(a.out, a.out_dtype, t * a.out_token_stride + h * a.out_head_stride + d, acc);
}

}  // namespace dshal::cuda::kernels
