// Thread bodies of moe_permute and moe_unpermute (hd.hpp explains the pattern). Without atomics or
// barriers the host's counting sort becomes several launches, each writing what no other thread of
// it reads: count (a thread per expert), scan (one thread), place (a thread per expert, scanning
// slots in order so an expert's rows keep the host's slot order) and gather (a thread per element).
// Unpermute inverts perm into a scratch row_of (two launches), then sums each element in j order.
#pragma once

#include "hd.hpp"

namespace dshal::cuda::kernels {

// ---- moe_permute ----

struct MoePermuteArgs {
  const int32_t* ids = nullptr;  // [slots]
  int32_t* offsets = nullptr;    // [experts + 1]
  int32_t* perm = nullptr;       // [slots]
  Rows x;                        // [tokens][ld]
  MutRows out;                   // [slots][ld], x's dtype
  uint64_t slots = 0, top_k = 1, experts = 0, hidden = 0;
};

// Launch 1, a thread per expert e: offsets[e + 1] = the number of slots holding e (offsets[0] = 0).
inline LaunchShape moe_count_shape(const MoePermuteArgs& a) { return cover_1d(a.experts); }
DSHAL_HD inline void moe_count_thread(Index3 block, Index3 thread, Index3 block_dim, const MoePermuteArgs& a) {
  const uint64_t e = flat_x(block, thread, block_dim);
  if (e >= a.experts) return;
  int32_t n = 0;
  for (uint64_t s = 0; s < a.slots; ++s) n += a.ids[s] >= 0 && uint64_t(a.ids[s]) == e;
  a.offsets[e + 1] = n;
  if (e == 0) a.offsets[0] = 0;
}

// Launch 2, one thread: the inclusive prefix sum turning counts into first rows.
inline LaunchShape moe_scan_shape(const MoePermuteArgs&) { return {{1, 1, 1}, {1, 1, 1}}; }
DSHAL_HD inline void moe_scan_thread(Index3 block, Index3 thread, Index3 block_dim, const MoePermuteArgs& a) {
  if (flat_x(block, thread, block_dim) != 0) return;
  for (uint64_t e = 0; e < a.experts; ++e) a.offsets[e + 1] += a.offsets[e];
}

// Launch 3, thread i: if i < experts, places expert i's slots from offsets[i] in slot order; if
// i < slots and i >= the kept count, perm[i] = -1. The two writes cover disjoint rows of perm.
inline LaunchShape moe_place_shape(const MoePermuteArgs& a) { return cover_1d(a.experts > a.slots ? a.experts : a.slots); }
DSHAL_HD inline void moe_place_thread(Index3 block, Index3 thread, Index3 block_dim, const MoePermuteArgs& a) {
  const uint64_t i = flat_x(block, thread, block_dim);
  if (i < a.experts) {
    int32_t p = a.offsets[i];
    for (uint64_t s = 0; s < a.slots; ++s)
      if (a.ids[s] >= 0 && uint64_t(a.ids[s]) == i) a.perm[p++] = int32_t(s);
  }
  if (i < a.slots && i >= uint64_t(a.offsets[a.experts])) a.perm[i] = -1;
}

// Launch 4, a thread per element of the kept rows: out[p][h] = x[perm[p] / top_k][h], copied by bits
// (the host memcpys rows; a conversion would canonicalize NaN payloads).
inline LaunchShape moe_gather_shape(const MoePermuteArgs& a) { return cover_1d(a.slots * a.hidden); }
DSHAL_HD inline void moe_gather_thread(Index3 block, Index3 thread, Index3 block_dim, const MoePermuteArgs& a) {
  const uint64_t i = flat_x(block, thread, block_dim);
  if (i >= a.slots * a.hidden) return;
  const uint64_t p = i / a.hidden, h = i % a.hidden;
  if (p >= uint64_t(a.offsets[a.experts])) return;
  const uint64_t t = uint64_t(a.perm[p]) / a.top_k;
  if (elem_bytes(a.x.dtype) == 4)
    static_cast<uint32_t*>(a.out.row(p))[h] = static_cast<const uint32_t*>(a.x.row(t))[h];
  else
    static_cast<uint16_t*>(a.out.row(p))[h] = static_cast<const uint16_t*>(a.x.row(t))[h];
}

// ---- moe_unpermute ----

struct MoeUnpermuteArgs {
  Rows y;                        // [slots][ld]
  const int32_t* perm = nullptr;  // [slots]
  const float* weights = nullptr;  // [tokens][top_k]
  MutRows out;                   // [tokens][ld]
  int32_t* row_of = nullptr;     // [slots] scratch: the row p with perm[p] = s, or -1
  uint64_t tokens = 0, top_k = 1, hidden = 0;
  uint32_t accumulate = 0;
};

// Launch 1, a thread per slot: row_of[s] = -1.
inline LaunchShape moe_unpermute_clear_shape(const MoeUnpermuteArgs& a) { return cover_1d(a.tokens * a.top_k); }
DSHAL_HD inline void moe_unpermute_clear_thread(Index3 block, Index3 thread, Index3 block_dim, const MoeUnpermuteArgs& a) {
  const uint64_t s = flat_x(block, thread, block_dim);
  if (s < a.tokens * a.top_k) a.row_of[s] = -1;
}

// Launch 2, a thread per row p: row_of[perm[p]] = p for perm[p] in [0, slots). moe_permute writes
// each slot at most once, so no two threads write the same entry.
inline LaunchShape moe_unpermute_invert_shape(const MoeUnpermuteArgs& a) { return cover_1d(a.tokens * a.top_k); }
DSHAL_HD inline void moe_unpermute_invert_thread(Index3 block, Index3 thread, Index3 block_dim, const MoeUnpermuteArgs& a) {
  const uint64_t p = flat_x(block, thread, block_dim), slots = a.tokens * a.top_k;
  if (p >= slots) return;
  const int32_t s = a.perm[p];
  if (s >= 0 && uint64_t(s) < slots) a.row_of[s] = int32_t(p);
}

// Launch 3, a thread per element (t, h): out[t][h] = (accumulate ? out[t][h] : 0) + the sum over
// j = 0 .. top_k-1 in order of weights[t][j] * y[row_of[t * top_k + j]][h], in f32.
inline LaunchShape moe_unpermute_shape(const MoeUnpermuteArgs& a) { return cover_1d(a.tokens * a.hidden); }
DSHAL_HD inline void moe_unpermute_thread(Index3 block, Index3 thread, Index3 block_dim, const MoeUnpermuteArgs& a) {
  const uint64_t i = flat_x(block, thread, block_dim);
  if (i >= a.tokens * a.hidden) return;
  const uint64_t t = i / a.hidden, h = i % a.hidden;
  void* out = a.out.row(t);
  float acc = a.accumulate ? load(out, a.out.dtype, h) : 0.0f;
  for (uint64_t j = 0; j < a.top_k; ++j) {
    const int32_t p = a.row_of[t * a.top_k + j];
    if (p < 0) continue;
    acc = add_rn(acc, mul_rn(a.weights[t * a.top_k + j], load(a.y.row(uint64_t(p)), a.y.dtype, h)));
  }
  store(out, a.out.dtype, h, acc);
}

}  // namespace dshal::cuda::kernels
