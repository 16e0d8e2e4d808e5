// Arena and KV-cache layout: offsets computed once from the config.
#include "model/arena.hpp"

#include "host/dtype.hpp"

#include <algorithm>

namespace dshal::model {
namespace {

class Planner {
 public:
  Slot take(dshal_dtype t, uint64_t rows, uint64_t cols) {
    Slot s;
    s.offset = bytes;
    s.dtype = t;
    s.cols = cols;
    bytes += (rows * cols * dtype_bytes(t) + 255) / 256 * 256;  // every slot 256-byte aligned
    return s;
  }
  uint64_t bytes = 0;
};

}  // namespace

uint64_t Slot::byte_at(uint64_t row, uint64_t col) const { return offset + (row * cols + col) * dtype_bytes(dtype); }

Arena Arena::plan(const ModelConfig& c, dshal_dtype act, int64_t max_tokens) {
  const uint64_t T = uint64_t(max_tokens), H = uint64_t(c.hidden_size), NH = uint64_t(c.num_attention_heads);
  const uint64_t D = uint64_t(c.qk_head_dim()), L = uint64_t(c.kv_lora_rank), R = uint64_t(c.qk_rope_head_dim);
  const uint64_t Vd = uint64_t(c.v_head_dim), E = uint64_t(c.n_routed_experts), K = uint64_t(c.num_experts_per_tok);
  const uint64_t MI = uint64_t(c.moe_intermediate_size);
  const uint64_t I = uint64_t(std::max(c.intermediate_size, c.moe_intermediate_size * c.n_shared_experts));
  Planner p;
  Arena a;
  a.x = p.take(DSHAL_DTYPE_F32, T, H);
  a.xn = p.take(act, T, H);
  a.xn_f32 = p.take(DSHAL_DTYPE_F32, T, act == DSHAL_DTYPE_F32 ? 0 : H);
  a.qa = p.take(act, T, uint64_t(c.q_lora_rank));
  a.q = p.take(act, T, NH * D);
  a.kva = p.take(act, T, L + R);
  a.q_abs = p.take(act, T, NH * (L + R));
  a.attn = p.take(act, T, NH * L);
  a.o_in = p.take(act, T, NH * Vd);
  a.gate = p.take(act, T, I);
  a.up = p.take(act, T, I);
  a.act_out = p.take(act, T, I);
  a.router = p.take(DSHAL_DTYPE_F32, T, E);
  a.topk_ids = p.take(DSHAL_DTYPE_I32, T, K);
  a.topk_w = p.take(DSHAL_DTYPE_F32, T, K);
  a.offsets = p.take(DSHAL_DTYPE_I32, 1, E + 1);
  a.perm = p.take(DSHAL_DTYPE_I32, T, K);
  a.xp = p.take(act, T * K, H);
  a.eg = p.take(act, T * K, MI);
  a.eu = p.take(act, T * K, MI);
  a.eh = p.take(act, T * K, MI);
  a.ey = p.take(DSHAL_DTYPE_F32, T * K, H);
  a.logits = p.take(DSHAL_DTYPE_F32, T, uint64_t(c.vocab_size));
  a.ids = p.take(DSHAL_DTYPE_I32, 1, T);
  a.positions = p.take(DSHAL_DTYPE_I32, 1, T);
  a.bytes = p.bytes;
  return a;
}

CacheLayout CacheLayout::plan(const ModelConfig& c, dshal_dtype act, AttentionForm form, int64_t max_seq) {
  const uint64_t S = uint64_t(max_seq), NH = uint64_t(c.num_attention_heads), es = dtype_bytes(act);
  CacheLayout l;
  l.dtype = act;
  if (form == AttentionForm::kAbsorbed) {
    l.k_cols = uint64_t(c.kv_lora_rank + c.qk_rope_head_dim);
    l.layer_bytes = (S * l.k_cols * es + 255) / 256 * 256;
    return l;
  }
  l.k_cols = NH * uint64_t(c.qk_head_dim());
  l.v_cols = NH * uint64_t(c.v_head_dim);
  l.v_offset = (S * l.k_cols * es + 255) / 256 * 256;
  l.layer_bytes = l.v_offset + (S * l.v_cols * es + 255) / 256 * 256;
  return l;
}

}  // namespace dshal::model
