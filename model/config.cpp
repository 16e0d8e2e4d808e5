// Parses and checks a DeepSeek V2 / V3 config.json; writes one in the published layout.
#include "config.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

namespace dshal::model {
namespace {

using json = nlohmann::json;

Status invalid(const std::string& source, const std::string& what) {
  return Status(DSHAL_ERROR_INVALID_ARGUMENT, source + ": " + what);
}

// Reads the fields of one JSON object; every message names the source file and the field.
class Reader {
 public:
  Reader(const json& obj, std::string source, std::string prefix = "")
      : obj_(obj), source_(std::move(source)), prefix_(std::move(prefix)) {}

  const std::string& source() const { return source_; }
  bool has(const char* key) const { return obj_.contains(key) && !obj_.at(key).is_null(); }
  bool present(const char* key) const { return obj_.contains(key); }
  const json& at(const char* key) const { return obj_.at(key); }
  std::string name(const char* key) const { return prefix_ + key; }

  Status missing(const char* key) const { return invalid(source_, fmt::format("required field '{}' is missing", name(key))); }
  Status bad(const char* key, const std::string& problem) const {
    return invalid(source_, fmt::format("{} = {} {}", name(key), obj_.at(key).dump(), problem));
  }

  // An integer field; absent (or null when null_ok) leaves *out unchanged unless required.
  Status integer(const char* key, int64_t* out, bool required, bool null_ok = false) const {
    if (!obj_.contains(key) || (null_ok && obj_.at(key).is_null())) return required && !obj_.contains(key) ? missing(key) : Status();
    const json& v = obj_.at(key);
    if (!v.is_number_integer()) return bad(key, "is not an integer");
    // Sizes stay far from overflow when multiplied together.
    if ((v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT32_MAX)) || v.get<int64_t>() > INT32_MAX)
      return bad(key, "is too large (over 2^31 - 1)");
    *out = v.get<int64_t>();
    return Status();
  }
  Status positive(const char* key, int64_t* out, bool required, bool null_ok = false) const {
    DSHAL_RETURN_IF_ERROR(integer(key, out, required, null_ok));
    if (has(key) && *out <= 0) return bad(key, "must be > 0");
    return Status();
  }
  Status number(const char* key, double* out, bool required) const {
    if (!has(key)) return required ? missing(key) : Status();
    const json& v = obj_.at(key);
    if (!v.is_number()) return bad(key, "is not a number");
    *out = v.get<double>();
    if (!std::isfinite(*out)) return bad(key, "is not finite");
    return Status();
  }
  Status boolean(const char* key, bool* out) const {
    if (!has(key)) return Status();
    if (!obj_.at(key).is_boolean()) return bad(key, "is not true or false");
    *out = obj_.at(key).get<bool>();
    return Status();
  }
  Status string(const char* key, std::string* out, bool required) const {
    if (!has(key)) return required ? missing(key) : Status();
    if (!obj_.at(key).is_string()) return bad(key, "is not a string");
    *out = obj_.at(key).get<std::string>();
    return Status();
  }

 private:
  const json& obj_;
  std::string source_, prefix_;
};

Status parse_rope_scaling(const Reader& r, RopeScaling* out) {
  *out = RopeScaling();
  if (!r.has("rope_scaling")) return Status();
  if (!r.at("rope_scaling").is_object()) return r.bad("rope_scaling", "is not an object or null");
  const Reader s(r.at("rope_scaling"), r.source(), "rope_scaling.");
  std::string type;
  DSHAL_RETURN_IF_ERROR(s.string("type", &type, false));
  if (type.empty()) DSHAL_RETURN_IF_ERROR(s.string("rope_type", &type, false));
  if (type != "yarn")
    return invalid(r.source(), fmt::format("rope_scaling.type = \"{}\" is not supported (only \"yarn\" or rope_scaling null)", type));
  out->yarn = true;
  DSHAL_RETURN_IF_ERROR(s.number("factor", &out->factor, true));
  if (out->factor <= 0) return s.bad("factor", "must be > 0");
  DSHAL_RETURN_IF_ERROR(s.positive("original_max_position_embeddings", &out->original_max_position_embeddings, true));
  DSHAL_RETURN_IF_ERROR(s.number("beta_fast", &out->beta_fast, false));
  DSHAL_RETURN_IF_ERROR(s.number("beta_slow", &out->beta_slow, false));
  out->has_mscale = s.has("mscale");
  out->has_mscale_all_dim = s.has("mscale_all_dim");
  DSHAL_RETURN_IF_ERROR(s.number("mscale", &out->mscale, false));
  DSHAL_RETURN_IF_ERROR(s.number("mscale_all_dim", &out->mscale_all_dim, false));
  return Status();
}

Status parse_quantization(const Reader& r, ModelConfig* c) {
  c->fp8_block_n = c->fp8_block_k = 0;
  if (!r.has("quantization_config")) return Status();
  if (!r.at("quantization_config").is_object()) return r.bad("quantization_config", "is not an object or null");
  const Reader q(r.at("quantization_config"), r.source(), "quantization_config.");
  std::string method;
  DSHAL_RETURN_IF_ERROR(q.string("quant_method", &method, true));
  if (method != "fp8") return q.bad("quant_method", "is not supported (only \"fp8\")");
  if (!q.has("weight_block_size")) return q.missing("weight_block_size");
  const json& b = q.at("weight_block_size");
  if (!b.is_array() || b.size() != 2 || !b[0].is_number_integer() || !b[1].is_number_integer() || b[0].get<int64_t>() <= 0 ||
      b[1].get<int64_t>() <= 0)
    return q.bad("weight_block_size", "is not two positive integers [n, k]");
  c->fp8_block_n = b[0].get<int64_t>();
  c->fp8_block_k = b[1].get<int64_t>();
  return Status();
}

// Routing and dimension fields, with DeepseekV2Config / DeepseekV3Config defaults where absent.
Status parse_fields(const Reader& r, ModelConfig* c) {
  DSHAL_RETURN_IF_ERROR(r.string("model_type", &c->model_type, true));
  const bool v3 = c->model_type == "deepseek_v3";
  if (!v3 && c->model_type != "deepseek_v2") return r.bad("model_type", "is not \"deepseek_v2\" or \"deepseek_v3\"");
  if (v3) {  // DeepseekV3Config's defaults; DeepseekV2Config's are the struct's
    c->first_k_dense_replace = 3;
    c->n_shared_experts = 1;
    c->n_group = 8;
    c->topk_group = 4;
    c->scoring = Scoring::kSigmoid;
    c->topk_method = TopkMethod::kNoauxTc;
    c->norm_topk_prob = true;
    c->routed_scaling_factor = 2.5;
    c->max_position_embeddings = 4096;
  } else {
    c->max_position_embeddings = 2048;
  }

  std::string act = "silu";
  DSHAL_RETURN_IF_ERROR(r.string("hidden_act", &act, false));
  if (act != "silu") return r.bad("hidden_act", "is not supported (only \"silu\")");

  // Shapes: required, because their defaults in DeepSeek's code are those of the full-size models.
  DSHAL_RETURN_IF_ERROR(r.positive("vocab_size", &c->vocab_size, true));
  DSHAL_RETURN_IF_ERROR(r.positive("hidden_size", &c->hidden_size, true));
  DSHAL_RETURN_IF_ERROR(r.positive("intermediate_size", &c->intermediate_size, true));
  DSHAL_RETURN_IF_ERROR(r.positive("num_hidden_layers", &c->num_hidden_layers, true));
  DSHAL_RETURN_IF_ERROR(r.positive("num_attention_heads", &c->num_attention_heads, true));
  if (!r.present("q_lora_rank")) return r.missing("q_lora_rank");
  DSHAL_RETURN_IF_ERROR(r.positive("q_lora_rank", &c->q_lora_rank, true, /*null_ok=*/true));
  DSHAL_RETURN_IF_ERROR(r.positive("kv_lora_rank", &c->kv_lora_rank, true));
  DSHAL_RETURN_IF_ERROR(r.positive("qk_nope_head_dim", &c->qk_nope_head_dim, true));
  DSHAL_RETURN_IF_ERROR(r.positive("qk_rope_head_dim", &c->qk_rope_head_dim, true));
  if (c->qk_rope_head_dim % 2 != 0) return r.bad("qk_rope_head_dim", "is odd (RoPE rotates pairs)");
  DSHAL_RETURN_IF_ERROR(r.positive("v_head_dim", &c->v_head_dim, true));
  DSHAL_RETURN_IF_ERROR(r.positive("max_position_embeddings", &c->max_position_embeddings, false));

  DSHAL_RETURN_IF_ERROR(r.integer("n_routed_experts", &c->n_routed_experts, false, true));
  if (r.has("n_routed_experts") && c->n_routed_experts < 0) return r.bad("n_routed_experts", "must be >= 0 (or null: dense)");
  if (!r.has("n_routed_experts")) c->n_routed_experts = 0;
  const bool moe = c->n_routed_experts > 0;
  DSHAL_RETURN_IF_ERROR(r.positive("moe_intermediate_size", &c->moe_intermediate_size, moe, !moe));
  DSHAL_RETURN_IF_ERROR(r.positive("num_experts_per_tok", &c->num_experts_per_tok, moe, !moe));
  DSHAL_RETURN_IF_ERROR(r.integer("n_shared_experts", &c->n_shared_experts, false, true));
  if (r.present("n_shared_experts") && !r.has("n_shared_experts")) c->n_shared_experts = 0;
  if (c->n_shared_experts < 0) return r.bad("n_shared_experts", "must be >= 0");
  DSHAL_RETURN_IF_ERROR(r.positive("n_group", &c->n_group, false, true));
  if (r.present("n_group") && !r.has("n_group")) c->n_group = 1;
  DSHAL_RETURN_IF_ERROR(r.positive("topk_group", &c->topk_group, false, true));
  if (r.present("topk_group") && !r.has("topk_group")) c->topk_group = 1;
  DSHAL_RETURN_IF_ERROR(r.integer("first_k_dense_replace", &c->first_k_dense_replace, false));
  DSHAL_RETURN_IF_ERROR(r.integer("moe_layer_freq", &c->moe_layer_freq, false));

  std::string scoring = c->scoring == Scoring::kSigmoid ? "sigmoid" : "softmax";
  DSHAL_RETURN_IF_ERROR(r.string("scoring_func", &scoring, false));
  if (scoring == "softmax") c->scoring = Scoring::kSoftmax;
  else if (scoring == "sigmoid") c->scoring = Scoring::kSigmoid;
  else return r.bad("scoring_func", "is not \"softmax\" or \"sigmoid\"");
  std::string method = c->topk_method == TopkMethod::kNoauxTc ? "noaux_tc" : "greedy";
  DSHAL_RETURN_IF_ERROR(r.string("topk_method", &method, false));
  if (method == "greedy") c->topk_method = TopkMethod::kGreedy;
  else if (method == "group_limited_greedy") c->topk_method = TopkMethod::kGroupLimitedGreedy;
  else if (method == "noaux_tc") c->topk_method = TopkMethod::kNoauxTc;
  else return r.bad("topk_method", "is not \"greedy\", \"group_limited_greedy\" or \"noaux_tc\"");
  DSHAL_RETURN_IF_ERROR(r.boolean("norm_topk_prob", &c->norm_topk_prob));
  DSHAL_RETURN_IF_ERROR(r.number("routed_scaling_factor", &c->routed_scaling_factor, false));
  DSHAL_RETURN_IF_ERROR(r.number("rope_theta", &c->rope_theta, false));
  DSHAL_RETURN_IF_ERROR(r.number("rms_norm_eps", &c->rms_norm_eps, false));
  DSHAL_RETURN_IF_ERROR(r.boolean("tie_word_embeddings", &c->tie_word_embeddings));
  DSHAL_RETURN_IF_ERROR(parse_rope_scaling(r, &c->rope_scaling));
  return parse_quantization(r, c);
}

// Values that parse but do not describe a model the executor can run.
Status check_consistency(const std::string& src, const ModelConfig& c) {
  auto fail = [&](const std::string& what) { return invalid(src, what); };
  if (c.first_k_dense_replace < 0 || c.first_k_dense_replace > c.num_hidden_layers)
    return fail(fmt::format("first_k_dense_replace = {} is outside [0, num_hidden_layers = {}]", c.first_k_dense_replace,
                            c.num_hidden_layers));
  if (c.moe_layer_freq < 1) return fail(fmt::format("moe_layer_freq = {} must be >= 1", c.moe_layer_freq));
  if (c.rope_theta <= 0) return fail(fmt::format("rope_theta = {} must be > 0", c.rope_theta));
  if (c.rms_norm_eps <= 0) return fail(fmt::format("rms_norm_eps = {} must be > 0", c.rms_norm_eps));
  if (c.n_routed_experts == 0) return Status();
  const int64_t e = c.n_routed_experts, k = c.num_experts_per_tok;
  if (k > e) return fail(fmt::format("num_experts_per_tok = {} exceeds n_routed_experts = {}", k, e));
  if (e % c.n_group != 0) return fail(fmt::format("n_group = {} does not divide n_routed_experts = {}", c.n_group, e));
  if (c.topk_group > c.n_group) return fail(fmt::format("topk_group = {} exceeds n_group = {}", c.topk_group, c.n_group));
  const int64_t per_group = e / c.n_group;
  if (c.topk_group * per_group < k)
    return fail(fmt::format("topk_group = {} groups of n_routed_experts / n_group = {} experts hold fewer than "
                            "num_experts_per_tok = {}",
                            c.topk_group, per_group, k));
  if (c.topk_method == TopkMethod::kNoauxTc && per_group < 2)
    return fail(fmt::format("topk_method = \"noaux_tc\" scores each group by its top 2 experts, but n_routed_experts / "
                            "n_group = {} / {} = {}",
                            e, c.n_group, per_group));
  if (!(c.routed_scaling_factor > 0))
    return fail(fmt::format("routed_scaling_factor = {} must be > 0", c.routed_scaling_factor));
  return Status();
}

}  // namespace

Status parse_config(std::string_view json_text, const std::string& source, ModelConfig* out) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    return invalid(source, fmt::format("not valid JSON: {}", e.what()));
  }
  if (!j.is_object()) return invalid(source, "not a JSON object");
  ModelConfig c;
  try {
    DSHAL_RETURN_IF_ERROR(parse_fields(Reader(j, source), &c));
  } catch (const json::exception& e) {  // not expected: every access is type-checked first
    return invalid(source, e.what());
  }
  DSHAL_RETURN_IF_ERROR(check_consistency(source, c));
  *out = std::move(c);
  return Status();
}

Status load_config(const std::filesystem::path& file, ModelConfig* out) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status(DSHAL_ERROR_NOT_FOUND, file.string() + ": cannot open (no such file?)");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status(DSHAL_ERROR_INVALID_ARGUMENT, file.string() + ": read failed");
  return parse_config(text.str(), file.string(), out);
}

std::string config_to_json(const ModelConfig& c) {
  const bool v3 = c.model_type == "deepseek_v3";
  json j;  // keys sorted, as in the published files
  j["architectures"] = {v3 ? "DeepseekV3ForCausalLM" : "DeepseekV2ForCausalLM"};
  j["attention_bias"] = false;
  j["attention_dropout"] = 0.0;
  j["first_k_dense_replace"] = c.first_k_dense_replace;
  j["hidden_act"] = "silu";
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["kv_lora_rank"] = c.kv_lora_rank;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["model_type"] = c.model_type.empty() ? "deepseek_v2" : c.model_type;
  j["moe_intermediate_size"] = c.moe_intermediate_size;
  j["moe_layer_freq"] = c.moe_layer_freq;
  j["n_group"] = c.n_group;
  j["n_routed_experts"] = c.n_routed_experts > 0 ? json(c.n_routed_experts) : json(nullptr);
  j["n_shared_experts"] = c.n_shared_experts;
  j["norm_topk_prob"] = c.norm_topk_prob;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_experts_per_tok"] = c.n_routed_experts > 0 ? json(c.num_experts_per_tok) : json(nullptr);
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_key_value_heads"] = c.num_attention_heads;
  if (v3) j["num_nextn_predict_layers"] = 0;  // make-model writes no MTP layer
  j["q_lora_rank"] = c.q_lora_rank > 0 ? json(c.q_lora_rank) : json(nullptr);
  j["qk_nope_head_dim"] = c.qk_nope_head_dim;
  j["qk_rope_head_dim"] = c.qk_rope_head_dim;
  if (c.fp8_block_n > 0)
    j["quantization_config"] = {{"activation_scheme", "dynamic"},
                                {"fmt", "e4m3"},
                                {"quant_method", "fp8"},
                                {"weight_block_size", {c.fp8_block_n, c.fp8_block_k}}};
  j["rms_norm_eps"] = c.rms_norm_eps;
  if (c.rope_scaling.yarn) {
    const RopeScaling& s = c.rope_scaling;
    json r = {{"beta_fast", s.beta_fast},
              {"beta_slow", s.beta_slow},
              {"factor", s.factor},
              {"original_max_position_embeddings", s.original_max_position_embeddings},
              {"type", "yarn"}};
    if (s.has_mscale) r["mscale"] = s.mscale;
    if (s.has_mscale_all_dim) r["mscale_all_dim"] = s.mscale_all_dim;
    j["rope_scaling"] = r;
  } else {
    j["rope_scaling"] = nullptr;
  }
  j["rope_theta"] = c.rope_theta;
  j["routed_scaling_factor"] = c.routed_scaling_factor;
  j["scoring_func"] = c.scoring == Scoring::kSigmoid ? "sigmoid" : "softmax";
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["topk_group"] = c.topk_group;
  j["topk_method"] = c.topk_method == TopkMethod::kNoauxTc             ? "noaux_tc"
                     : c.topk_method == TopkMethod::kGroupLimitedGreedy ? "group_limited_greedy"
                                                                        : "greedy";
  j["torch_dtype"] = "bfloat16";
  j["use_cache"] = true;
  j["v_head_dim"] = c.v_head_dim;
  j["vocab_size"] = c.vocab_size;
  return j.dump(2) + "\n";
}

}  // namespace dshal::model
