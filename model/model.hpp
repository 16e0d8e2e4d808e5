// The DeepSeek MoE executor: a checkpoint loaded onto one device, run token by token or a whole
// prompt at a time, with a KV cache. Everything goes through the dshal C++ API.
#pragma once

#include <dshal/dshal.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "model/arena.hpp"
#include "model/checkpoint.hpp"
#include "model/routed_experts.hpp"
#include "model/weights.hpp"

namespace dshal::model {

struct ModelOptions {
  AttentionForm attention = AttentionForm::kAbsorbed;
  dshal_dtype activations = DSHAL_DTYPE_BF16;  // F32 or BF16 (f32 accumulation either way)
  int64_t max_seq = 0;           // KV cache length; 0: max_position_embeddings
  int64_t max_batch_tokens = 128;  // a longer prompt is run in chunks of this many tokens
  std::function<void(uint64_t done, uint64_t total)> load_progress;  // bytes of weights placed
  // Expert parallelism: when set, the routed experts live elsewhere (ExpertParallel over devices of
  // this process, MpiExperts over ranks) and the device passed to load keeps everything else.
  RoutedExpertsFactory routed_experts;
};

class Model {
 public:
  // Opens and checks the checkpoint, places the weights and sizes the activation arena and the
  // KV cache; nothing is allocated after this.
  static Status load(const std::filesystem::path& dir, const Device& device, const ModelOptions& options,
                     std::unique_ptr<Model>* out);

  const ModelConfig& config() const { return ckpt_->config(); }
  const ModelOptions& options() const { return options_; }
  const WeightStats& weight_stats() const { return weights_.stats; }
  // Under expert parallelism, the routed experts each device of this process holds; empty otherwise.
  std::vector<DeviceWeightStats> expert_weight_stats() const {
    return ep_ ? ep_->device_weights() : std::vector<DeviceWeightStats>();
  }
  uint64_t weight_bytes_per_token() const {
    return weights_.bytes_per_token(config()) + (ep_ ? ep_->routed_bytes_per_token() : 0);
  }
  int64_t position() const { return position_; }
  int64_t max_seq() const { return max_seq_; }
  // Forgets the KV cache.
  void reset() { position_ = 0; }

  // Runs ids at positions [position(), position() + ids.size()) and advances. logits gets
  // [rows][vocab] f32: one row per id when all_rows, else the last id's row only. Ids are checked
  // against vocab_size and the cache length first (INVALID_ARGUMENT, nothing run).
  Status forward(std::span<const int32_t> ids, bool all_rows, std::vector<float>* logits);
  // The checks forward makes before it runs anything.
  Status check_ids(std::span<const int32_t> ids) const;

 private:
  Model() = default;
  Status forward_chunk(int64_t n, bool all_rows, std::vector<float>* logits);
  Status attention_block(int64_t l, int64_t n);
  Status ffn_block(int64_t l, int64_t n);
  Status mlp(const Linear& gate, const Linear& up, const Linear& down, int64_t n);
  Status mlp_hidden(const Linear& gate, const Linear& up, int64_t n);  // the MLP up to its down projection
  Status mlp_down(const Linear& down, int64_t n);                     // x += its down projection
  // x += routed experts, then x += shared experts (when the layer has them).
  Status moe(int64_t l, int64_t n);
  // x += the top-k weighted sum of the expert rows in arena ey, in a fixed order.
  Status combine(const dshal_buffer_ref& weights, const dshal_buffer_ref& perm, int64_t n);
  Status linear(const Linear& w, uint64_t m, const dshal_matrix& a, const dshal_matrix& c, float beta = 0.0f) const;
  // C_h = A_h * I for each head: copies (broadcasts when A's batch stride is 0) rope columns.
  Status copy_rope_columns(uint64_t m, uint64_t heads, const dshal_matrix& a, const dshal_matrix& c) const;

  std::unique_ptr<Checkpoint> ckpt_;
  const Device* device_ = nullptr;
  Stream stream_;
  ModelWeights weights_;
  std::unique_ptr<RoutedExperts> ep_;  // null when this device holds every expert
  ModelOptions options_;
  Arena arena_;
  CacheLayout cache_;
  Buffer arena_buffer_, cache_buffer_, rope_buffer_, identity_buffer_;
  uint64_t rope_sin_offset_ = 0;
  float softmax_scale_ = 1.0f;
  int64_t max_seq_ = 0;
  int64_t position_ = 0;
  std::vector<int32_t> chunk_ids_, chunk_positions_;  // host staging, sized once
};

}  // namespace dshal::model
