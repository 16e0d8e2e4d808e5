// Multi-head latent attention, both forms:
//   naive:    per-head K = [k_nope_h | k_rope], V_h from kv_b_proj, cached per head
//   absorbed: the cache holds the normed latent and the rotated k_rope; q_nope is taken into the
//             latent space through W_UK, and the latent output back out through W_UV.
#include "host/dtype.hpp"
#include "model/model.hpp"

namespace dshal::model {
Status Model::attention_block(int64_t l, int64_t n) {
  const ModelConfig& c = config();
  const LayerWeights& w = weights_.layers[size_t(l)];
  const Arena& a = arena_;
  const Buffer& ab = arena_buffer_;
  const dshal_dtype kv = cache_.dtype;
  const uint64_t N = uint64_t(n), H = uint64_t(c.hidden_size), NH = uint64_t(c.num_attention_heads);
  const uint64_t D = uint64_t(c.qk_head_dim()), NOPE = uint64_t(c.qk_nope_head_dim), R = uint64_t(c.qk_rope_head_dim);
  const uint64_t L = uint64_t(c.kv_lora_rank), Vd = uint64_t(c.v_head_dim), P0 = uint64_t(position_);
  const float eps = float(c.rms_norm_eps);
  // q_a_layernorm and kv_a_layernorm are built without an eps argument in both DeepSeek's and
  // transformers' code, so they use the RMSNorm default whatever rms_norm_eps says.
  constexpr float kLoraNormEps = 1e-6f;
  const bool absorbed = options_.attention == AttentionForm::kAbsorbed;
  const uint64_t es = dtype_bytes(kv);

  auto norm = desc<dshal_rms_norm_desc>();
  norm.rows = N;
  norm.cols = H;
  norm.eps = eps;
  norm.x = ten(ab, a.x);
  norm.weight = w.attn_norm;
  norm.out = ten(ab, a.xn);
  DSHAL_RETURN_IF_ERROR(stream_.rms_norm(norm));

  // q = q_b(norm(q_a(xn))) or q_proj(xn): [N][NH][NOPE | R]
  if (c.q_lora_rank == 0) {
    DSHAL_RETURN_IF_ERROR(linear(w.q_proj, N, mat(ab, a.xn), mat(ab, a.q)));
  } else {
    DSHAL_RETURN_IF_ERROR(linear(w.q_a, N, mat(ab, a.xn), mat(ab, a.qa)));
    norm.cols = uint64_t(c.q_lora_rank);
    norm.eps = kLoraNormEps;
    norm.x = norm.out = ten(ab, a.qa);
    norm.weight = w.q_a_norm;
    DSHAL_RETURN_IF_ERROR(stream_.rms_norm(norm));
    DSHAL_RETURN_IF_ERROR(linear(w.q_b, N, mat(ab, a.qa), mat(ab, a.q)));
  }
  auto rope = desc<dshal_rope_desc>();
  rope.tokens = N;
  rope.heads = NH;
  rope.dim = R;
  rope.max_position = uint64_t(max_seq_);
  rope.buffer = ab.handle();
  rope.offset = a.q.byte_at(0, NOPE);
  rope.dtype = a.q.dtype;
  rope.token_stride = NH * D;
  rope.head_stride = D;
  rope.positions = ref(ab, a.positions.offset);
  rope.cos_table = ref(rope_buffer_, 0);
  rope.sin_table = ref(rope_buffer_, rope_sin_offset_);
  DSHAL_RETURN_IF_ERROR(stream_.rope(rope));

  // kv_a_proj_with_mqa(xn) = [latent (L) | k_rope (R)]; the latent is normed, k_rope rotated.
  // Absorbed: written straight into this layer's cache rows [P0, P0 + N).
  const uint64_t cache_layer = uint64_t(l) * cache_.layer_bytes;
  const Slot kv_rows = absorbed ? Slot{cache_layer + P0 * (L + R) * es, kv, L + R} : a.kva;
  const Buffer& kv_buf = absorbed ? cache_buffer_ : ab;
  DSHAL_RETURN_IF_ERROR(linear(w.kv_a, N, mat(ab, a.xn), mat(kv_buf, kv_rows)));
  norm.cols = L;
  norm.eps = kLoraNormEps;
  norm.x = norm.out = ten(kv_buf, kv_rows);
  norm.weight = w.kv_a_norm;
  DSHAL_RETURN_IF_ERROR(stream_.rms_norm(norm));
  rope.heads = 1;
  rope.dtype = kv_rows.dtype;
  rope.buffer = kv_buf.handle();
  rope.offset = kv_rows.byte_at(0, L);
  rope.token_stride = L + R;
  rope.head_stride = R;
  DSHAL_RETURN_IF_ERROR(stream_.rope(rope));

  // Per-head slices of kv_b_proj [NH][NOPE + Vd][L]: W_UK_h = rows [0, NOPE), W_UV_h = rows [NOPE, NOPE + Vd).
  const dshal_matrix kv_b = w.kv_b;
  const uint64_t kvb_es = dtype_bytes(kv_b.dtype);
  auto per_head = desc<dshal_gemm_desc>();
  per_head.batch = NH;
  per_head.alpha = 1.0f;
  per_head.m = N;

  auto attn = desc<dshal_attention_desc>();
  attn.q_len = N;
  attn.kv_len = P0 + N;
  attn.heads = NH;
  attn.scale = softmax_scale_;
  attn.causal = 1;
  attn.q_offset = P0;

  if (absorbed) {
    // q_abs[t][h] = [q_nope_h * W_UK_h (L) | q_rope_h (R)]
    per_head.n = L;
    per_head.k = NOPE;
    per_head.a = dshal_matrix{ab.handle(), a.q.offset, a.q.dtype, NH * D, D};
    per_head.b = dshal_matrix{kv_b.buffer, kv_b.offset, kv_b.dtype, L, (NOPE + Vd) * L};
    per_head.c = dshal_matrix{ab.handle(), a.q_abs.offset, a.q_abs.dtype, NH * (L + R), L + R};
    DSHAL_RETURN_IF_ERROR(stream_.gemm(per_head));
    DSHAL_RETURN_IF_ERROR(copy_rope_columns(N, NH, dshal_matrix{ab.handle(), a.q.byte_at(0, NOPE), a.q.dtype, NH * D, D},
                                            dshal_matrix{ab.handle(), a.q_abs.byte_at(0, L), a.q_abs.dtype, NH * (L + R), L + R}));
    attn.mode = DSHAL_ATTENTION_ABSORBED;
    attn.kv_heads = 1;
    attn.qk_dim = L + R;
    attn.v_dim = L;
    attn.q = dshal_attention_view{ab.handle(), a.q_abs.offset, a.q_abs.dtype, NH * (L + R), L + R};
    attn.k = dshal_attention_view{cache_buffer_.handle(), cache_layer, kv, L + R, 0};
    attn.v = attn.k;
    attn.out = dshal_attention_view{ab.handle(), a.attn.offset, a.attn.dtype, NH * L, L};
    DSHAL_RETURN_IF_ERROR(stream_.attention(attn));
    // o_in[t][h] = attn_h * W_UV_h^T
    per_head.trans_b = 1;
    per_head.n = Vd;
    per_head.k = L;
    per_head.a = dshal_matrix{ab.handle(), a.attn.offset, a.attn.dtype, NH * L, L};
    per_head.b = dshal_matrix{kv_b.buffer, kv_b.offset + NOPE * L * kvb_es, kv_b.dtype, L, (NOPE + Vd) * L};
    per_head.c = dshal_matrix{ab.handle(), a.o_in.offset, a.o_in.dtype, NH * Vd, Vd};
    DSHAL_RETURN_IF_ERROR(stream_.gemm(per_head));
  } else {
    // K cache rows [P0, P0 + N): [k_nope_h = latent * W_UK_h^T | k_rope]; V: latent * W_UV_h^T.
    const uint64_t k_at = cache_layer + P0 * NH * D * es, v_at = cache_layer + cache_.v_offset + P0 * NH * Vd * es;
    per_head.trans_b = 1;
    per_head.k = L;
    per_head.a = dshal_matrix{ab.handle(), a.kva.offset, a.kva.dtype, L + R, 0};
    per_head.n = NOPE;
    per_head.b = dshal_matrix{kv_b.buffer, kv_b.offset, kv_b.dtype, L, (NOPE + Vd) * L};
    per_head.c = dshal_matrix{cache_buffer_.handle(), k_at, kv, NH * D, D};
    DSHAL_RETURN_IF_ERROR(stream_.gemm(per_head));
    per_head.n = Vd;
    per_head.b.offset = kv_b.offset + NOPE * L * kvb_es;
    per_head.c = dshal_matrix{cache_buffer_.handle(), v_at, kv, NH * Vd, Vd};
    DSHAL_RETURN_IF_ERROR(stream_.gemm(per_head));
    DSHAL_RETURN_IF_ERROR(copy_rope_columns(N, NH, dshal_matrix{ab.handle(), a.kva.byte_at(0, L), a.kva.dtype, L + R, 0},
                                            dshal_matrix{cache_buffer_.handle(), k_at + NOPE * es, kv, NH * D, D}));
    attn.mode = DSHAL_ATTENTION_NAIVE;
    attn.kv_heads = NH;
    attn.qk_dim = D;
    attn.v_dim = Vd;
    attn.q = dshal_attention_view{ab.handle(), a.q.offset, a.q.dtype, NH * D, D};
    attn.k = dshal_attention_view{cache_buffer_.handle(), cache_layer, kv, NH * D, D};
    attn.v = dshal_attention_view{cache_buffer_.handle(), cache_layer + cache_.v_offset, kv, NH * Vd, Vd};
    attn.out = dshal_attention_view{ab.handle(), a.o_in.offset, a.o_in.dtype, NH * Vd, Vd};
    DSHAL_RETURN_IF_ERROR(stream_.attention(attn));
  }
  // x += o_proj(o_in)
  return linear(w.o, N, mat(ab, a.o_in), mat(ab, a.x), 1.0f);
}

}  // namespace dshal::model
