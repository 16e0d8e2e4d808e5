// Tests of config.json parsing: published V2-Lite and V3 configs, defaults, and every rejected case.
#include "config.hpp"

#include <nlohmann/json.hpp>

#include <functional>

#include "test_util.hpp"

namespace dshal::model::test {
namespace {

using json = nlohmann::json;

// Parses `base` after `edit`; the source is named "t/config.json".
Status parse_edited(const char* base, const std::function<void(json&)>& edit, ModelConfig* out = nullptr) {
  json j = json::parse(base);
  edit(j);
  ModelConfig c;
  const Status s = parse_config(j.dump(), "t/config.json", &c);
  if (out) *out = c;
  return s;
}

// The edit is rejected with INVALID_ARGUMENT naming the file and every one of `parts`.
void expect_rejected(const char* base, const std::function<void(json&)>& edit, std::initializer_list<std::string> parts) {
  const Status s = parse_edited(base, edit);
  EXPECT_EQ(s.code(), DSHAL_ERROR_INVALID_ARGUMENT) << s.message();
  EXPECT_TRUE(names(s, {"t/config.json"}));
  EXPECT_TRUE(names(s, parts));
}

TEST(Config, PublishedV2Lite) {
  ModelConfig c;
  ASSERT_TRUE(parse_config(kV2LiteConfig, "v2lite/config.json", &c).ok());
  EXPECT_EQ(c.model_type, "deepseek_v2");
  EXPECT_EQ(c.vocab_size, 102400);
  EXPECT_EQ(c.hidden_size, 2048);
  EXPECT_EQ(c.num_hidden_layers, 27);
  EXPECT_EQ(c.q_lora_rank, 0);
  EXPECT_EQ(c.kv_lora_rank, 512);
  EXPECT_EQ(c.n_routed_experts, 64);
  EXPECT_EQ(c.n_shared_experts, 2);
  EXPECT_EQ(c.num_experts_per_tok, 6);
  EXPECT_EQ(c.n_group, 1);
  EXPECT_EQ(c.scoring, Scoring::kSoftmax);
  EXPECT_EQ(c.topk_method, TopkMethod::kGreedy);
  EXPECT_FALSE(c.norm_topk_prob);
  EXPECT_TRUE(c.rope_scaling.yarn);
  EXPECT_EQ(c.rope_scaling.factor, 40);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 4096);
  EXPECT_DOUBLE_EQ(c.rope_scaling.mscale_all_dim, 0.707);
  EXPECT_TRUE(c.rope_scaling.has_mscale);
  EXPECT_EQ(c.fp8_block_n, 0);
  EXPECT_FALSE(c.is_moe_layer(0));
  EXPECT_TRUE(c.is_moe_layer(1));
}

TEST(Config, PublishedV3) {
  ModelConfig c;
  ASSERT_TRUE(parse_config(kV3Config, "v3/config.json", &c).ok());
  EXPECT_EQ(c.model_type, "deepseek_v3");
  EXPECT_EQ(c.q_lora_rank, 1536);
  EXPECT_EQ(c.n_routed_experts, 256);
  EXPECT_EQ(c.n_group, 8);
  EXPECT_EQ(c.topk_group, 4);
  EXPECT_EQ(c.scoring, Scoring::kSigmoid);
  EXPECT_EQ(c.topk_method, TopkMethod::kNoauxTc);
  EXPECT_TRUE(c.norm_topk_prob);
  EXPECT_DOUBLE_EQ(c.routed_scaling_factor, 2.5);
  EXPECT_EQ(c.fp8_block_n, 128);
  EXPECT_EQ(c.fp8_block_k, 128);
  EXPECT_EQ(c.first_k_dense_replace, 3);
  EXPECT_FALSE(c.is_moe_layer(2));
  EXPECT_TRUE(c.is_moe_layer(3));
}

TEST(Config, RopeTypeKeyAndNullFields) {
  ModelConfig c;
  ASSERT_TRUE(parse_edited(kV3Config, [](json& j) {
                j["rope_scaling"].erase("type");
                j["rope_scaling"]["rope_type"] = "yarn";
                j["n_group"] = nullptr;
                j["topk_group"] = nullptr;
                j["topk_method"] = "greedy";
                j["quantization_config"] = nullptr;
              }, &c).ok());
  EXPECT_TRUE(c.rope_scaling.yarn);
  EXPECT_EQ(c.n_group, 1);
  EXPECT_EQ(c.topk_group, 1);
  EXPECT_EQ(c.fp8_block_n, 0);
  ASSERT_TRUE(parse_edited(kV2LiteConfig, [](json& j) { j["rope_scaling"] = nullptr; }, &c).ok());
  EXPECT_FALSE(c.rope_scaling.yarn);
}

TEST(Config, DenseWhenNoRoutedExperts) {
  ModelConfig c;
  ASSERT_TRUE(parse_edited(kV2LiteConfig, [](json& j) {
                j["n_routed_experts"] = nullptr;
                j["num_experts_per_tok"] = nullptr;
              }, &c).ok());
  EXPECT_EQ(c.n_routed_experts, 0);
  EXPECT_FALSE(c.is_moe_layer(5));
}

// Absent optional fields take DeepseekV2Config / DeepseekV3Config's defaults.
TEST(Config, DefaultsOfDeepSeekConfigCode) {
  const auto strip = [](json& j) {
    for (const char* k : {"moe_layer_freq", "rms_norm_eps", "norm_topk_prob", "routed_scaling_factor", "rope_theta",
                          "tie_word_embeddings", "n_group", "topk_group", "scoring_func", "topk_method", "rope_scaling",
                          "first_k_dense_replace", "n_shared_experts", "max_position_embeddings"})
      j.erase(k);
  };
  ModelConfig c;
  ASSERT_TRUE(parse_edited(kV2LiteConfig, strip, &c).ok());
  EXPECT_EQ(c.moe_layer_freq, 1);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_FALSE(c.norm_topk_prob);
  EXPECT_DOUBLE_EQ(c.routed_scaling_factor, 1.0);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.scoring, Scoring::kSoftmax);
  EXPECT_EQ(c.topk_method, TopkMethod::kGreedy);
  EXPECT_EQ(c.first_k_dense_replace, 0);
  EXPECT_EQ(c.n_shared_experts, 0);
  EXPECT_EQ(c.max_position_embeddings, 2048);
  EXPECT_FALSE(c.rope_scaling.yarn);
  ASSERT_TRUE(parse_edited(kV3Config, strip, &c).ok());
  EXPECT_EQ(c.scoring, Scoring::kSigmoid);
  EXPECT_EQ(c.topk_method, TopkMethod::kNoauxTc);
  EXPECT_EQ(c.n_group, 8);
  EXPECT_EQ(c.topk_group, 4);
  EXPECT_TRUE(c.norm_topk_prob);
  EXPECT_DOUBLE_EQ(c.routed_scaling_factor, 2.5);
  EXPECT_EQ(c.first_k_dense_replace, 3);
  EXPECT_EQ(c.n_shared_experts, 1);
  EXPECT_EQ(c.max_position_embeddings, 4096);
  json yarn = json::parse(kV2LiteConfig)["rope_scaling"];
  yarn.erase("mscale");
  yarn.erase("mscale_all_dim");
  yarn.erase("beta_fast");
  yarn.erase("beta_slow");
  ASSERT_TRUE(parse_edited(kV2LiteConfig, [&](json& j) { j["rope_scaling"] = yarn; }, &c).ok());
  EXPECT_DOUBLE_EQ(c.rope_scaling.mscale, 1.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.mscale_all_dim, 0.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.beta_fast, 32.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.beta_slow, 1.0);
  EXPECT_FALSE(c.rope_scaling.has_mscale);
}

TEST(Config, ToJsonRoundTrips) {
  for (const char* text : {kV2LiteConfig, kV3Config}) {
    ModelConfig a, b;
    ASSERT_TRUE(parse_config(text, "a", &a).ok());
    const std::string out = config_to_json(a);
    ASSERT_TRUE(parse_config(out, "b", &b).ok()) << out;
    EXPECT_EQ(config_to_json(b), out);
    EXPECT_EQ(b.q_lora_rank, a.q_lora_rank);
    EXPECT_EQ(b.fp8_block_n, a.fp8_block_n);
    EXPECT_EQ(b.topk_method, a.topk_method);
    EXPECT_EQ(b.rope_scaling.mscale_all_dim, a.rope_scaling.mscale_all_dim);
    EXPECT_EQ(json::parse(out)["q_lora_rank"].is_null(), a.q_lora_rank == 0);
  }
  ModelConfig t;
  ASSERT_TRUE(parse_config(config_to_json(tiny_v3()), "tiny", &t).ok());
  EXPECT_EQ(t.n_routed_experts, 16);
}

TEST(Config, GarbledOrNotAnObject) {
  ModelConfig c;
  Status s = parse_config("{\"hidden_size\": ", "t/config.json", &c);
  EXPECT_EQ(s.code(), DSHAL_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(names(s, {"t/config.json", "JSON"}));
  s = parse_config("[1, 2]", "t/config.json", &c);
  EXPECT_EQ(s.code(), DSHAL_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(names(s, {"t/config.json"}));
}

TEST(Config, MissingFile) {
  ModelConfig c;
  const Status s = load_config("/nonexistent/dir/config.json", &c);
  EXPECT_EQ(s.code(), DSHAL_ERROR_NOT_FOUND);
  EXPECT_TRUE(names(s, {"/nonexistent/dir/config.json"}));
}

TEST(Config, RequiredFieldsMissing) {
  for (const char* field : {"hidden_size", "vocab_size", "num_hidden_layers", "num_attention_heads", "kv_lora_rank",
                            "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim", "intermediate_size", "q_lora_rank",
                            "model_type", "moe_intermediate_size", "num_experts_per_tok"}) {
    SCOPED_TRACE(field);
    expect_rejected(kV2LiteConfig, [&](json& j) { j.erase(field); }, {field, "missing"});
  }
}

TEST(Config, WrongJsonTypes) {
  expect_rejected(kV2LiteConfig, [](json& j) { j["hidden_size"] = "2048"; }, {"hidden_size", "\"2048\"", "integer"});
  expect_rejected(kV2LiteConfig, [](json& j) { j["hidden_size"] = 2048.5; }, {"hidden_size", "2048.5", "integer"});
  expect_rejected(kV2LiteConfig, [](json& j) { j["vocab_size"] = uint64_t(1) << 63; }, {"vocab_size", "too large"});
  expect_rejected(kV2LiteConfig, [](json& j) { j["vocab_size"] = int64_t(1) << 40; }, {"vocab_size", "too large"});
  expect_rejected(kV2LiteConfig, [](json& j) { j["num_hidden_layers"] = nullptr; }, {"num_hidden_layers"});
  expect_rejected(kV2LiteConfig, [](json& j) { j["norm_topk_prob"] = 1; }, {"norm_topk_prob", "true or false"});
  expect_rejected(kV2LiteConfig, [](json& j) { j["rope_theta"] = "big"; }, {"rope_theta", "number"});
  expect_rejected(kV2LiteConfig, [](json& j) { j["scoring_func"] = 3; }, {"scoring_func", "string"});
  expect_rejected(kV2LiteConfig, [](json& j) { j["rope_scaling"] = 4; }, {"rope_scaling"});
  expect_rejected(kV2LiteConfig, [](json& j) { j["rope_scaling"]["factor"] = "40"; }, {"rope_scaling.factor"});
  expect_rejected(kV3Config, [](json& j) { j["quantization_config"]["weight_block_size"] = {128}; },
                  {"quantization_config.weight_block_size"});
  expect_rejected(kV3Config, [](json& j) { j["quantization_config"]["quant_method"] = "gptq"; },
                  {"quantization_config.quant_method", "gptq"});
}

TEST(Config, NonPositiveSizes) {
  for (const char* field : {"hidden_size", "vocab_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                            "moe_intermediate_size", "num_experts_per_tok", "q_lora_rank", "max_position_embeddings"}) {
    SCOPED_TRACE(field);
    expect_rejected(kV2LiteConfig, [&](json& j) { j[field] = 0; }, {field, "= 0", "> 0"});
    expect_rejected(kV2LiteConfig, [&](json& j) { j[field] = -3; }, {field, "= -3"});
  }
  expect_rejected(kV2LiteConfig, [](json& j) { j["n_routed_experts"] = -1; }, {"n_routed_experts = -1"});
  expect_rejected(kV2LiteConfig, [](json& j) { j["n_shared_experts"] = -1; }, {"n_shared_experts = -1"});
  expect_rejected(kV2LiteConfig, [](json& j) { j["rms_norm_eps"] = 0; }, {"rms_norm_eps"});
  expect_rejected(kV2LiteConfig, [](json& j) { j["rope_theta"] = -1; }, {"rope_theta"});
}

TEST(Config, KvDimsThatDoNotAddUp) {
  expect_rejected(kV2LiteConfig, [](json& j) { j["qk_rope_head_dim"] = 63; }, {"qk_rope_head_dim = 63", "odd"});
  expect_rejected(kV2LiteConfig, [](json& j) { j["qk_rope_head_dim"] = 0; }, {"qk_rope_head_dim = 0"});
  expect_rejected(kV2LiteConfig, [](json& j) { j["qk_nope_head_dim"] = 0; }, {"qk_nope_head_dim = 0"});
  expect_rejected(kV2LiteConfig, [](json& j) { j["v_head_dim"] = -128; }, {"v_head_dim = -128"});
  expect_rejected(kV2LiteConfig, [](json& j) { j["kv_lora_rank"] = 0; }, {"kv_lora_rank = 0"});
}

TEST(Config, RoutingInconsistent) {
  expect_rejected(kV2LiteConfig, [](json& j) { j["num_experts_per_tok"] = 65; },
                  {"num_experts_per_tok = 65 exceeds n_routed_experts = 64"});
  expect_rejected(kV3Config, [](json& j) { j["n_group"] = 7; }, {"n_group = 7 does not divide n_routed_experts = 256"});
  expect_rejected(kV3Config, [](json& j) { j["topk_group"] = 9; }, {"topk_group = 9 exceeds n_group = 8"});
  expect_rejected(kV3Config, [](json& j) { j["topk_group"] = 1; j["n_group"] = 64; },
                  {"topk_group = 1", "num_experts_per_tok = 8"});
  expect_rejected(kV3Config, [](json& j) { j["n_group"] = 256; j["topk_group"] = 8; }, {"noaux_tc", "n_group"});
  expect_rejected(kV2LiteConfig, [](json& j) { j["scoring_func"] = "relu"; }, {"scoring_func = \"relu\""});
  expect_rejected(kV2LiteConfig, [](json& j) { j["topk_method"] = "gready"; }, {"topk_method = \"gready\""});
  expect_rejected(kV2LiteConfig, [](json& j) { j["routed_scaling_factor"] = 0; }, {"routed_scaling_factor"});
  expect_rejected(kV2LiteConfig, [](json& j) { j["hidden_act"] = "gelu"; }, {"hidden_act = \"gelu\""});
  expect_rejected(kV2LiteConfig, [](json& j) { j["model_type"] = "llama"; }, {"model_type = \"llama\""});
}

TEST(Config, LayerLayoutInconsistent) {
  expect_rejected(kV2LiteConfig, [](json& j) { j["first_k_dense_replace"] = 28; },
                  {"first_k_dense_replace = 28", "num_hidden_layers = 27"});
  expect_rejected(kV2LiteConfig, [](json& j) { j["moe_layer_freq"] = 0; }, {"moe_layer_freq = 0"});
}

TEST(Config, RopeScalingInvalid) {
  expect_rejected(kV2LiteConfig, [](json& j) { j["rope_scaling"]["factor"] = 0; }, {"rope_scaling.factor = 0"});
  expect_rejected(kV2LiteConfig, [](json& j) { j["rope_scaling"]["original_max_position_embeddings"] = 0; },
                  {"rope_scaling.original_max_position_embeddings = 0"});
  expect_rejected(kV2LiteConfig, [](json& j) { j["rope_scaling"].erase("factor"); }, {"rope_scaling.factor", "missing"});
  expect_rejected(kV2LiteConfig, [](json& j) { j["rope_scaling"]["type"] = "linear"; }, {"rope_scaling.type", "linear"});
}

}  // namespace
}  // namespace dshal::model::test
