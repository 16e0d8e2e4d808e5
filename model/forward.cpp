// Model::forward: the DeepSeek graph as a flat list of named steps over the arena.
//   embed -> per layer [norm -> MLA -> +residual -> norm -> dense MLP | MoE (+ shared) -> +residual]
//   -> final norm -> lm_head
#include <fmt/format.h>

#include <algorithm>

#include "model/model.hpp"

namespace dshal::model {
Status Model::check_ids(std::span<const int32_t> ids) const {
  const ModelConfig& c = config();
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= c.vocab_size)
      return Status(DSHAL_ERROR_INVALID_ARGUMENT,
                    fmt::format("token id {} (at index {}) is outside [0, vocab_size = {})", ids[i], i, c.vocab_size));
  if (position_ + int64_t(ids.size()) > max_seq_)
    return Status(DSHAL_ERROR_INVALID_ARGUMENT,
                  fmt::format("{} tokens after position {} exceed the KV cache of {} tokens", ids.size(), position_, max_seq_));
  return Status();
}

Status Model::forward(std::span<const int32_t> ids, bool all_rows, std::vector<float>* logits) {
  DSHAL_RETURN_IF_ERROR(check_ids(ids));
  logits->clear();
  const int64_t chunk = options_.max_batch_tokens;
  for (size_t start = 0; start < ids.size(); start += size_t(chunk)) {
    const int64_t n = std::min<int64_t>(chunk, int64_t(ids.size() - start));
    for (int64_t t = 0; t < n; ++t) {
      chunk_ids_[size_t(t)] = ids[start + size_t(t)];
      chunk_positions_[size_t(t)] = int32_t(position_ + t);
    }
    const bool last_chunk = start + size_t(n) == ids.size();
    if (!all_rows && !last_chunk) {
      DSHAL_RETURN_IF_ERROR(forward_chunk(n, false, nullptr));
    } else {
      DSHAL_RETURN_IF_ERROR(forward_chunk(n, all_rows, logits));
    }
  }
  return Status();
}

Status Model::forward_chunk(int64_t n, bool all_rows, std::vector<float>* logits) {
  const ModelConfig& c = config();
  const Arena& a = arena_;
  const Buffer& ab = arena_buffer_;
  const uint64_t N = uint64_t(n), H = uint64_t(c.hidden_size), V = uint64_t(c.vocab_size);

  DSHAL_RETURN_IF_ERROR(stream_.copy_h2d(chunk_ids_.data(), ab, a.ids.offset, N * 4));
  DSHAL_RETURN_IF_ERROR(stream_.copy_h2d(chunk_positions_.data(), ab, a.positions.offset, N * 4));
  auto embed = desc<dshal_embedding_desc>();
  embed.tokens = N;
  embed.vocab = V;
  embed.hidden = H;
  embed.table = weights_.embed;
  embed.ids = ref(ab, a.ids.offset);
  embed.out = ten(ab, a.x);
  DSHAL_RETURN_IF_ERROR(stream_.embedding(embed));

  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    DSHAL_RETURN_IF_ERROR(attention_block(l, n));
    DSHAL_RETURN_IF_ERROR(ffn_block(l, n));
  }
  position_ += n;
  if (!logits) return stream_.synchronize();

  // Only the rows asked for go through the final norm and lm_head.
  const uint64_t first = all_rows ? 0 : N - 1, rows = N - first;
  auto norm = desc<dshal_rms_norm_desc>();
  norm.rows = rows;
  norm.cols = H;
  norm.eps = float(c.rms_norm_eps);
  norm.x = ten(ab, a.x, first);
  norm.weight = weights_.final_norm;
  norm.out = ten(ab, a.xn);
  DSHAL_RETURN_IF_ERROR(stream_.rms_norm(norm));
  DSHAL_RETURN_IF_ERROR(linear(weights_.lm_head, rows, mat(ab, a.xn), mat(ab, a.logits)));
  const size_t before = logits->size();
  logits->resize(before + rows * V);
  DSHAL_RETURN_IF_ERROR(stream_.copy_d2h(ab, a.logits.offset, logits->data() + before, rows * V * 4));
  return stream_.synchronize();
}

// C[m][n] = A[m][k] * W^T + beta * C, through gemm or, for FP8 weights, gemm_quant.
Status Model::linear(const Linear& w, uint64_t m, const dshal_matrix& a, const dshal_matrix& c, float beta) const {
  if (w.quantized()) {
    auto d = desc<dshal_gemm_quant_desc>();
    d.m = m;
    d.n = uint64_t(w.n);
    d.k = uint64_t(w.k);
    d.alpha = 1.0f;
    d.beta = beta;
    d.a = a;
    d.w = w.w;
    d.c = c;
    return stream_.gemm_quant(d);
  }
  auto d = desc<dshal_gemm_desc>();
  d.trans_b = 1;
  d.m = m;
  d.n = uint64_t(w.n);
  d.k = uint64_t(w.k);
  d.batch = 1;
  d.alpha = 1.0f;
  d.beta = beta;
  d.a = a;
  d.b = dshal_matrix{w.w.buffer, w.w.offset, w.w.dtype, w.w.ld, 0};
  d.c = c;
  return stream_.gemm(d);
}

Status Model::copy_rope_columns(uint64_t m, uint64_t heads, const dshal_matrix& a, const dshal_matrix& c) const {
  const uint64_t R = uint64_t(config().qk_rope_head_dim);
  auto d = desc<dshal_gemm_desc>();
  d.m = m;
  d.n = R;
  d.k = R;
  d.batch = heads;
  d.alpha = 1.0f;
  d.a = a;
  d.b = matrix(identity_buffer_, options_.activations, R);
  d.c = c;
  return stream_.gemm(d);
}

Status Model::ffn_block(int64_t l, int64_t n) {
  const ModelConfig& c = config();
  const LayerWeights& w = weights_.layers[size_t(l)];
  auto norm = desc<dshal_rms_norm_desc>();
  norm.rows = uint64_t(n);
  norm.cols = uint64_t(c.hidden_size);
  norm.eps = float(c.rms_norm_eps);
  norm.x = ten(arena_buffer_, arena_.x);
  norm.weight = w.ffn_norm;
  norm.out = ten(arena_buffer_, arena_.xn);
  DSHAL_RETURN_IF_ERROR(stream_.rms_norm(norm));
  if (w.moe && arena_.xn_f32.cols > 0) {
    norm.out = ten(arena_buffer_, arena_.xn_f32);
    DSHAL_RETURN_IF_ERROR(stream_.rms_norm(norm));
  }
  if (w.moe) return moe(l, n);  // routed, then shared experts
  return mlp(w.gate, w.up, w.down, n);
}

// x += down(silu(gate(xn)) * up(xn))
Status Model::mlp(const Linear& gate, const Linear& up, const Linear& down, int64_t n) {
  DSHAL_RETURN_IF_ERROR(mlp_hidden(gate, up, n));
  return mlp_down(down, n);
}

// act_out = silu(gate(xn)) * up(xn)
Status Model::mlp_hidden(const Linear& gate, const Linear& up, int64_t n) {
  const Arena& a = arena_;
  const Buffer& ab = arena_buffer_;
  const uint64_t N = uint64_t(n), I = uint64_t(gate.n);
  DSHAL_RETURN_IF_ERROR(linear(gate, N, mat(ab, a.xn), mat(ab, a.gate)));
  DSHAL_RETURN_IF_ERROR(linear(up, N, mat(ab, a.xn), mat(ab, a.up)));
  auto act = desc<dshal_silu_mul_desc>();
  act.rows = N;
  act.cols = I;
  act.gate = ten(ab, a.gate);
  act.up = ten(ab, a.up);
  act.out = ten(ab, a.act_out);
  return stream_.silu_mul(act);
}

// x += act_out * down^T
Status Model::mlp_down(const Linear& down, int64_t n) {
  return linear(down, uint64_t(n), mat(arena_buffer_, arena_.act_out), mat(arena_buffer_, arena_.x), 1.0f);
}

}  // namespace dshal::model
