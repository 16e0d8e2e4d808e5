// Thread bodies of elementwise and the embedding gather (hd.hpp explains the pattern): one thread
// per element for both.
#pragma once

#include "rows_hd.hpp"

namespace dshal::cuda::kernels {

struct ElementwiseArgs {
  const void *a = nullptr, *b = nullptr;  // b: ADD and MUL only
  void* out = nullptr;                    // may alias a or b exactly
  dshal_dtype a_dtype = DSHAL_DTYPE_F32, b_dtype = DSHAL_DTYPE_F32, out_dtype = DSHAL_DTYPE_F32;
  dshal_elementwise_op op = DSHAL_ELEMENTWISE_ADD;
  float alpha = 0;
  uint64_t n = 0;
};
inline LaunchShape elementwise_shape(const ElementwiseArgs& a) { return cover_1d(a.n); }
// Element i of out from element i of a (and b), in f32 as hal/host/ops/elementwise.cpp: each thread
// reads its element before writing it, so out may alias a or b. A cast to the same type copies bits
// (NaN payloads kept), for any type (INT4, I32 and U8 too). Otherwise it reads f32 / f16 / bf16 /
// fp8 / i32 / u8 and writes f32 / f16 / bf16 / fp8, the types the host kernel takes (hal itself
// passes only f32 / f16 / bf16).
DSHAL_HD inline void elementwise_thread(Index3 block, Index3 thread, Index3 block_dim, const ElementwiseArgs& a) {
  const uint64_t i = flat_x(block, thread, block_dim);
  if (i >= a.n) return;
  if (a.op == DSHAL_ELEMENTWISE_CAST && a.a_dtype == a.out_dtype) {
    // INT4 packs two elements a byte: thread i copies byte i (of (n + 1) / 2), not a nibble, so no
    // two threads write the same byte.
    if (a.a_dtype == DSHAL_DTYPE_INT4) {
      if (i < (a.n + 1) / 2) copy_elem(a.out, i, a.a, i, DSHAL_DTYPE_U8);
    } else {
      copy_elem(a.out, i, a.a, i, a.a_dtype);
    }
    return;
  }
  float v = load_any(a.a, a.a_dtype, i);
  if (a.op == DSHAL_ELEMENTWISE_ADD) v += load_any(a.b, a.b_dtype, i);
  else if (a.op == DSHAL_ELEMENTWISE_MUL) v = mul_rn(v, load_any(a.b, a.b_dtype, i));
  else if (a.op == DSHAL_ELEMENTWISE_SCALE) v = mul_rn(v, a.alpha);
  store_any(a.out, a.out_dtype, i, v);
}

struct EmbeddingArgs {
  Rows table;  // [vocab][ld]
  const int32_t* ids = nullptr;
  MutRows out;  // [tokens][ld]
  uint64_t tokens = 0, vocab = 0, hidden = 0;
  int32_t* status = nullptr;  // the stream's status words
};
inline LaunchShape embedding_shape(const EmbeddingArgs& a) { return cover_1d(a.tokens * a.hidden); }
// Element h of token t (flat index t * hidden + h): out[t][h] = table[ids[t]][h], copied by bits
// when the types match, converted through f32 otherwise. An id outside [0, vocab) is reported (by
// the token's first thread; the first report of the launch wins) and that token's row left as it
// was; the host checks every id before writing anything, which a launch cannot do without a
// second pass, so only the bad token's row is sure to be untouched (the op fails either way).
DSHAL_HD inline void embedding_thread(Index3 block, Index3 thread, Index3 block_dim, const EmbeddingArgs& a) {
  const uint64_t k = flat_x(block, thread, block_dim);
  if (k >= a.tokens * a.hidden) return;
  const uint64_t t = k / a.hidden, h = k % a.hidden;
  const int32_t id = a.ids[t];
  if (id < 0 || uint64_t(id) >= a.vocab) {
    if (h == 0) report_status(a.status, 1 /* DSHAL_STATUS_EMBEDDING_ID */, int32_t(t), id, int32_t(a.vocab));
    return;
  }
  if (a.table.dtype == a.out.dtype) copy_elem(a.out.row(t), h, a.table.row(uint64_t(id)), h, a.table.dtype);
  else store(a.out.row(t), a.out.dtype, h, load(a.table.row(uint64_t(id)), a.table.dtype, h));
}

}  // namespace dshal::cuda::kernels
