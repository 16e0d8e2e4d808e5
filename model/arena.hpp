// The activation arena: every intermediate of one forward chunk at a fixed offset in one buffer,
// sized from the config and the largest chunk, and the KV cache layout.
#pragma once

#include <dshal/dshal.hpp>

#include <cstdint>

#include "model/config.hpp"

namespace dshal::model {

enum class AttentionForm { kNaive, kAbsorbed };

// A row-major [rows][cols] region of the arena.
struct Slot {
  uint64_t offset = 0;  // bytes
  dshal_dtype dtype = DSHAL_DTYPE_F32;
  uint64_t cols = 0;  // elements per row (the leading dimension)
  uint64_t byte_at(uint64_t row, uint64_t col = 0) const;
};

// Descriptor views of a slot from element [row][col] on, with the slot's row stride.
inline dshal_matrix mat(const Buffer& b, const Slot& s, uint64_t row = 0, uint64_t col = 0) {
  return dshal_matrix{b.handle(), s.byte_at(row, col), s.dtype, s.cols, 0};
}
inline dshal_tensor ten(const Buffer& b, const Slot& s, uint64_t row = 0, uint64_t col = 0) {
  return dshal_tensor{b.handle(), s.byte_at(row, col), s.dtype, s.cols};
}

// Letters: T tokens in the chunk, H hidden, Q q_lora, NH heads, D qk head dim, L kv_lora, R rope,
// Vd v head, I the widest MLP (dense or shared), E experts, K top-k, MI moe_intermediate, V vocab.
struct Arena {
  Slot x;          // f32 [T][H]       the residual stream
  Slot xn;         // act [T][H]       normed input of attention / MLP
  Slot xn_f32;     // f32 [T][H]       the same in f32, the router's input: expert choice is made in
                   //                  f32 as transformers does, as bf16 rounding can flip near-ties
  Slot qa;         // act [T][Q]       q_a_proj output (q_lora models)
  Slot q;          // act [T][NH*D]    queries, rope part rotated in place
  Slot kva;        // act [T][L+R]     kv_a_proj output (naive form; absorbed writes the cache)
  Slot q_abs;      // act [T][NH*(L+R)] queries in latent space (absorbed)
  Slot attn;       // act [T][NH*L]    attention output in latent space (absorbed)
  Slot o_in;       // act [T][NH*Vd]   per-head values, o_proj input
  Slot gate, up, act_out;  // act [T][I]
  Slot router;     // f32 [T][E]
  Slot topk_ids;   // i32 [T][K]
  Slot topk_w;     // f32 [T][K]
  Slot offsets;    // i32 [E+1]
  Slot perm;       // i32 [T*K]
  Slot xp;         // act [T*K][H]     token rows in expert order
  Slot eg, eu, eh; // act [T*K][MI]
  Slot ey;         // f32 [T*K][H]     expert outputs, combined into x
  Slot logits;     // f32 [T][V]
  Slot ids;        // i32 [T]
  Slot positions;  // i32 [T]
  uint64_t bytes = 0;

  static Arena plan(const ModelConfig& c, dshal_dtype act, int64_t max_tokens);
};

// KV cache per layer: naive K [S][NH*D] then V [S][NH*Vd]; absorbed latent [S][L+R].
struct CacheLayout {
  dshal_dtype dtype = DSHAL_DTYPE_F32;
  uint64_t layer_bytes = 0;
  uint64_t v_offset = 0;  // naive: V after K within a layer
  uint64_t k_cols = 0, v_cols = 0;
  static CacheLayout plan(const ModelConfig& c, dshal_dtype act, AttentionForm form, int64_t max_seq);
};

}  // namespace dshal::model
