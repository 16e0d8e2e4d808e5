// A DeepSeek V2 / V3 config.json, parsed and checked for consistency.
#pragma once

#include <dshal/dshal.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace dshal::model {

enum class Scoring { kSoftmax, kSigmoid };
enum class TopkMethod { kGreedy, kGroupLimitedGreedy, kNoauxTc };

// rope_scaling {"type" (or "rope_type"): "yarn", ...}; null or absent means plain RoPE (factor 1).
// Other types (linear, dynamic) are rejected.
struct RopeScaling {
  bool yarn = false;
  double factor = 1.0;
  int64_t original_max_position_embeddings = 0;
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double mscale = 1.0;          // absent -> 1 (DeepSeek's default)
  double mscale_all_dim = 0.0;  // absent -> 0
  bool has_mscale = false, has_mscale_all_dim = false;
};

struct ModelConfig {
  std::string model_type;  // "deepseek_v2" | "deepseek_v3"
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;      // dense MLP
  int64_t moe_intermediate_size = 0;  // one routed expert; shared experts use n_shared_experts times it
  int64_t num_hidden_layers = 0;
  int64_t first_k_dense_replace = 0;
  int64_t moe_layer_freq = 1;
  int64_t num_attention_heads = 0;
  int64_t n_routed_experts = 0;  // 0: every layer dense
  int64_t n_shared_experts = 0;
  int64_t num_experts_per_tok = 0;
  int64_t n_group = 1;
  int64_t topk_group = 1;
  Scoring scoring = Scoring::kSoftmax;
  TopkMethod topk_method = TopkMethod::kGreedy;
  bool norm_topk_prob = false;
  double routed_scaling_factor = 1.0;
  int64_t q_lora_rank = 0;  // 0: config says null, plain q_proj
  int64_t kv_lora_rank = 0;
  int64_t qk_nope_head_dim = 0;
  int64_t qk_rope_head_dim = 0;
  int64_t v_head_dim = 0;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  double rms_norm_eps = 1e-6;
  int64_t max_position_embeddings = 0;
  bool tie_word_embeddings = false;
  // quantization_config {"quant_method": "fp8", "weight_block_size": [128, 128]}: 0 when absent.
  int64_t fp8_block_n = 0, fp8_block_k = 0;

  int64_t qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
  bool is_moe_layer(int64_t layer) const {
    return n_routed_experts > 0 && layer >= first_k_dense_replace && layer % moe_layer_freq == 0;
  }
};

// Parses config.json text; `source` names the file in messages. Missing required fields, wrong
// types and inconsistent values are INVALID_ARGUMENT naming the source and the field:
// "t/config.json: num_experts_per_tok = 9 exceeds n_routed_experts = 8".
// Required: model_type (deepseek_v2 | deepseek_v3), the shape fields (vocab_size, hidden_size,
// intermediate_size, num_hidden_layers, num_attention_heads, q_lora_rank (may be null),
// kv_lora_rank, qk_nope/rope_head_dim, v_head_dim) and, when n_routed_experts is set,
// moe_intermediate_size and num_experts_per_tok. Other absent fields take the defaults of
// DeepseekV2Config / DeepseekV3Config for that model_type (V3: noaux_tc, sigmoid, n_group 8,
// topk_group 4, norm_topk_prob, routed_scaling_factor 2.5, first_k_dense_replace 3, 1 shared expert).
// load_config: a missing file is NOT_FOUND naming it.
Status parse_config(std::string_view json_text, const std::string& source, ModelConfig* out);
Status load_config(const std::filesystem::path& file, ModelConfig* out);
// The JSON text of a config in the published Hugging Face layout (what make-model writes).
std::string config_to_json(const ModelConfig& c);

}  // namespace dshal::model
