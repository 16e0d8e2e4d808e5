// Random DeepSeek checkpoints in the Hugging Face layout, streamed to disk one tensor at a time.
#include "make_model.hpp"

#include <oneapi/tbb/parallel_for.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <fstream>

#include "host/dtype.hpp"
#include "safetensors.hpp"

namespace dshal::model {
namespace {

enum class Kind { kLinear, kEmbed, kNorm, kBias, kScale };

struct Planned {
  TensorSpec spec;
  Kind kind;
  std::string source;  // the name whose values this tensor holds: a scale's weight, else itself
  int64_t unit;        // tensors of one unit (a projection of all experts) never straddle shards
};

// ---- values: counter-based, so any element is computable alone and threads do not matter ----

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t tensor_key(uint64_t seed, const std::string& name) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a: values depend on the name, not on the order or sharding
  for (unsigned char ch : name) h = (h ^ ch) * 0x100000001b3ull;
  return splitmix64(seed ^ splitmix64(h));
}

float uniform(uint64_t key, uint64_t i) {  // [-1, 1)
  return float(double((splitmix64(key + i) >> 40) + 0.5) * (2.0 / double(1 << 24)) - 1.0);
}

// The real value of element i.
float value(Kind kind, uint64_t key, uint64_t i, float amp) {
  switch (kind) {
    case Kind::kNorm: return 1.0f + 0.1f * uniform(key, i);
    case Kind::kBias: return 0.1f * uniform(key, i);
    default: return amp * uniform(key, i);
  }
}

// Uniform with variance 1/fan_in for linear weights; variance 1 for embeddings (rows feed a norm).
float amplitude(Kind kind, const std::vector<int64_t>& shape) {
  if (kind == Kind::kEmbed) return std::sqrt(3.0f);
  return shape.size() == 2 ? std::sqrt(3.0f / float(shape[1])) : 1.0f;
}

struct Fp8Blocks {
  int64_t n, k, bn, bk;  // weight [n][k], blocks of bn × bk
  int64_t rows() const { return (n + bn - 1) / bn; }
  int64_t cols() const { return (k + bk - 1) / bk; }
};

// DeepSeek's weight_scale_inv of block (bi, bj): max |w| / 448, so the block's largest value is 448.
float block_scale(uint64_t key, float amp, const Fp8Blocks& b, int64_t bi, int64_t bj) {
  float m = 0;
  for (int64_t r = bi * b.bn; r < std::min(b.n, (bi + 1) * b.bn); ++r)
    for (int64_t c = bj * b.bk; c < std::min(b.k, (bj + 1) * b.bk); ++c)
      m = std::max(m, std::fabs(value(Kind::kLinear, key, uint64_t(r * b.k + c), amp)));
  return m > 0 ? m / 448.0f : 1.0f;
}

// Fills `out` (spec.bytes() long) with tensor p's values.
void generate(const Planned& p, const std::vector<int64_t>& source_shape, uint64_t seed, int64_t bn, int64_t bk,
              std::byte* out) {
  const uint64_t key = tensor_key(seed, p.source);
  const dshal_dtype dt = safetensors_dtype(p.spec.dtype_name);
  const Kind kind = p.kind == Kind::kScale ? Kind::kLinear : p.kind;
  const float amp = amplitude(kind, source_shape);
  if (p.kind == Kind::kScale || dt == DSHAL_DTYPE_FP8_E4M3) {
    const Fp8Blocks b{source_shape[0], source_shape[1], bn, bk};
    tbb::parallel_for(int64_t(0), b.rows() * b.cols(), [&](int64_t blk) {
      const int64_t bi = blk / b.cols(), bj = blk % b.cols();
      const float scale = block_scale(key, amp, b, bi, bj);
      if (p.kind == Kind::kScale) {
        std::memcpy(out + blk * 4, &scale, 4);
        return;
      }
      for (int64_t r = bi * bn; r < std::min(b.n, (bi + 1) * bn); ++r)
        for (int64_t c = bj * bk; c < std::min(b.k, (bj + 1) * bk); ++c) {
          const uint64_t i = uint64_t(r * b.k + c);
          out[i] = std::byte(f32_to_fp8_e4m3(value(kind, key, i, amp) / scale));
        }
    });
    return;
  }
  const uint64_t n = p.spec.bytes() / safetensors_dtype_bytes(p.spec.dtype_name);
  tbb::parallel_for(tbb::blocked_range<uint64_t>(0, n, 1 << 14), [&](const tbb::blocked_range<uint64_t>& r) {
    for (uint64_t i = r.begin(); i < r.end(); ++i) {
      const float v = value(kind, key, i, amp);
      if (dt == DSHAL_DTYPE_F32) std::memcpy(out + i * 4, &v, 4);
      else {
        const uint16_t h = f32_to_bf16(v);
        std::memcpy(out + i * 2, &h, 2);
      }
    }
  });
}

// ---- the plan: every tensor of the published layout, in file order ----

class Planner {
 public:
  Planner(const ModelConfig& c, dshal_dtype dt) : c_(c), fp8_(dt == DSHAL_DTYPE_FP8_E4M3) {
    wide_ = dt == DSHAL_DTYPE_F32 ? "F32" : "BF16";
  }

  std::vector<Planned> plan() {
    const ModelConfig& c = c_;
    const int64_t H = c.hidden_size, heads = c.num_attention_heads;
    add("model.embed_tokens.weight", wide_, {c.vocab_size, H}, Kind::kEmbed);
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
      const std::string p = fmt::format("model.layers.{}.", l);
      add(p + "input_layernorm.weight", wide_, {H}, Kind::kNorm);
      if (c.q_lora_rank == 0) {
        linear(p + "self_attn.q_proj", heads * c.qk_head_dim(), H);
      } else {
        linear(p + "self_attn.q_a_proj", c.q_lora_rank, H);
        add(p + "self_attn.q_a_layernorm.weight", wide_, {c.q_lora_rank}, Kind::kNorm);
        linear(p + "self_attn.q_b_proj", heads * c.qk_head_dim(), c.q_lora_rank);
      }
      linear(p + "self_attn.kv_a_proj_with_mqa", c.kv_lora_rank + c.qk_rope_head_dim, H);
      add(p + "self_attn.kv_a_layernorm.weight", wide_, {c.kv_lora_rank}, Kind::kNorm);
      linear(p + "self_attn.kv_b_proj", heads * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank);
      linear(p + "self_attn.o_proj", H, heads * c.v_head_dim);
      add(p + "post_attention_layernorm.weight", wide_, {H}, Kind::kNorm);
      if (!c.is_moe_layer(l)) {
        mlp(p + "mlp.", c.intermediate_size);
        continue;
      }
      const int64_t E = c.n_routed_experts, I = c.moe_intermediate_size;
      add(p + "mlp.gate.weight", wide_, {E, H}, Kind::kLinear);
      if (c.topk_method == TopkMethod::kNoauxTc) add(p + "mlp.gate.e_score_correction_bias", "F32", {E}, Kind::kBias);
      for (const char* proj : {"gate_proj", "up_proj", "down_proj"}) {  // one unit each: weights, then scales
        const bool down = proj[0] == 'd';
        const int64_t unit = ++unit_;
        for (int64_t e = 0; e < E; ++e)
          add(fmt::format("{}mlp.experts.{}.{}.weight", p, e, proj), fp8_ ? "F8_E4M3" : wide_, {down ? H : I, down ? I : H},
              Kind::kLinear, unit);
        for (int64_t e = 0; fp8_ && e < E; ++e) scale(fmt::format("{}mlp.experts.{}.{}.weight", p, e, proj), unit);
      }
      if (c.n_shared_experts > 0) mlp(p + "mlp.shared_experts.", I * c.n_shared_experts);
    }
    add("model.norm.weight", wide_, {H}, Kind::kNorm);
    if (!c.tie_word_embeddings) add("lm_head.weight", wide_, {c.vocab_size, H}, Kind::kLinear);
    return std::move(out_);
  }

 private:
  void add(const std::string& name, const std::string& dtype, std::vector<int64_t> shape, Kind kind, int64_t unit = 0,
           const std::string& source = "") {
    shapes_[name] = shape;
    out_.push_back({{name, dtype, std::move(shape)}, kind, source.empty() ? name : source, unit ? unit : ++unit_});
  }
  void scale(const std::string& weight, int64_t unit) {
    const std::vector<int64_t> s = shapes_.at(weight);
    const int64_t bn = c_.fp8_block_n, bk = c_.fp8_block_k;
    add(weight + "_scale_inv", "F32", {(s[0] + bn - 1) / bn, (s[1] + bk - 1) / bk}, Kind::kScale, unit, weight);
  }
  // A linear layer's weight [n][k] (+ its scale right after it for FP8).
  void linear(const std::string& prefix, int64_t n, int64_t k) {
    add(prefix + ".weight", fp8_ ? "F8_E4M3" : wide_, {n, k}, Kind::kLinear);
    if (fp8_) scale(prefix + ".weight", out_.back().unit);
  }
  void mlp(const std::string& p, int64_t inter) {
    linear(p + "gate_proj", inter, c_.hidden_size);
    linear(p + "up_proj", inter, c_.hidden_size);
    linear(p + "down_proj", c_.hidden_size, inter);
  }

  const ModelConfig& c_;
  bool fp8_;
  std::string wide_;
  int64_t unit_ = 0;
  std::vector<Planned> out_;
  std::map<std::string, std::vector<int64_t>> shapes_;
};

// ---- writing ----

struct Shard {
  std::string file;
  std::vector<const Planned*> tensors;
  std::string header;
  uint64_t bytes = 0;  // header + data
};

std::vector<Shard> split_shards(const std::vector<Planned>& plan, uint64_t max_bytes) {
  std::vector<Shard> shards(1);
  uint64_t data = 0;
  for (size_t i = 0; i < plan.size();) {
    size_t j = i;
    uint64_t unit_bytes = 0;
    for (; j < plan.size() && plan[j].unit == plan[i].unit; ++j) unit_bytes += plan[j].spec.bytes();
    if (!shards.back().tensors.empty() && data + unit_bytes > max_bytes) {
      shards.emplace_back();
      data = 0;
    }
    for (; i < j; ++i) shards.back().tensors.push_back(&plan[i]);
    data += unit_bytes;
  }
  for (size_t s = 0; s < shards.size(); ++s)
    shards[s].file = shards.size() == 1 ? "model.safetensors"
                                        : fmt::format("model-{:05d}-of-{:05d}.safetensors", s + 1, shards.size());
  return shards;
}

Status io_error(const std::filesystem::path& p, const std::string& what) {
  return Status(DSHAL_ERROR_DEVICE, fmt::format("{}: {}: {}", p.string(), what, std::strerror(errno)));
}

Status write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  return out ? Status() : io_error(p, "write failed");
}

Status write_all(const ModelConfig& c, const std::vector<Planned>& plan, std::vector<Shard>& shards,
                 const std::filesystem::path& dir, const MakeModelOptions& o) {
  DSHAL_RETURN_IF_ERROR(write_text(dir / "config.json", config_to_json(c)));
  std::map<std::string, const Planned*> by_name;
  for (const Planned& p : plan) by_name[p.spec.name] = &p;
  uint64_t total = 0, done = 0, data_bytes = 0;
  for (const Planned& p : plan) data_bytes += p.spec.bytes();
  for (Shard& s : shards) {
    std::vector<TensorSpec> specs;
    for (const Planned* p : s.tensors) specs.push_back(p->spec), s.bytes += p->spec.bytes();
    DSHAL_RETURN_IF_ERROR(encode_safetensors_header(specs, {{"format", "pt"}}, &s.header));
    s.bytes += s.header.size();
    total += s.bytes;
  }
  if (o.progress) o.progress(0, total);
  std::vector<std::byte> buf;
  for (const Shard& s : shards) {
    const std::filesystem::path path = dir / s.file;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(s.header.data(), std::streamsize(s.header.size()));
    done += s.header.size();
    for (const Planned* p : s.tensors) {
      buf.resize(p->spec.bytes());
      generate(*p, by_name.at(p->source)->spec.shape, o.seed, c.fp8_block_n, c.fp8_block_k, buf.data());
      out.write(reinterpret_cast<const char*>(buf.data()), std::streamsize(buf.size()));
      if (!out) return io_error(path, "write failed");
      done += buf.size();
      if (o.progress) o.progress(done, total);
    }
    out.close();
    if (!out) return io_error(path, "write failed");
  }
  if (shards.size() == 1) return Status();
  nlohmann::json index;
  index["metadata"]["total_size"] = data_bytes;
  for (const Shard& s : shards)
    for (const Planned* p : s.tensors) index["weight_map"][p->spec.name] = s.file;
  return write_text(dir / "model.safetensors.index.json", index.dump(2) + "\n");
}

}  // namespace

Status make_model(const ModelConfig& config, const std::filesystem::path& out_dir, const MakeModelOptions& options) {
  const dshal_dtype dt = options.weight_dtype;
  if (dt != DSHAL_DTYPE_F32 && dt != DSHAL_DTYPE_BF16 && dt != DSHAL_DTYPE_FP8_E4M3)
    return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("make_model: weight dtype {} is not f32, bf16 or fp8", dtype_name(dt)));
  ModelConfig c = config;
  if (dt == DSHAL_DTYPE_FP8_E4M3) {
    if (c.fp8_block_n <= 0 || c.fp8_block_k <= 0) c.fp8_block_n = c.fp8_block_k = 128;
  } else {
    c.fp8_block_n = c.fp8_block_k = 0;
  }
  ModelConfig checked;  // the checks parse_config makes, for callers that built the config in code
  DSHAL_RETURN_IF_ERROR(parse_config(config_to_json(c), "make_model config", &checked));

  std::filesystem::path out = out_dir.lexically_normal();
  if (!out.has_filename()) out = out.parent_path();
  std::error_code ec;
  if (std::filesystem::exists(out, ec) && !(std::filesystem::is_directory(out, ec) && std::filesystem::is_empty(out, ec)))
    return Status(DSHAL_ERROR_INVALID_ARGUMENT, out.string() + ": exists and is not an empty folder; refusing to write into it");
  const std::filesystem::path parent = out.has_parent_path() ? out.parent_path() : std::filesystem::path(".");
  std::filesystem::create_directories(parent, ec);
  const std::filesystem::path tmp = parent / fmt::format(".{}.partial-{}", out.filename().string(), ::getpid());
  std::filesystem::remove_all(tmp, ec);
  if (!std::filesystem::create_directory(tmp, ec)) return Status(DSHAL_ERROR_DEVICE, tmp.string() + ": cannot create: " + ec.message());

  Status st;
  try {
    const std::vector<Planned> plan = Planner(c, dt).plan();
    std::vector<Shard> shards = split_shards(plan, options.max_shard_bytes);
    st = write_all(c, plan, shards, tmp, options);
  } catch (const std::bad_alloc&) {
    st = Status(DSHAL_ERROR_OUT_OF_MEMORY, out.string() + ": out of memory while generating a tensor");
  }
  if (st.ok()) {
    std::filesystem::rename(tmp, out, ec);  // replaces an empty folder
    if (ec) st = Status(DSHAL_ERROR_DEVICE, fmt::format("{}: cannot rename {} into place: {}", out.string(), tmp.string(), ec.message()));
  }
  if (!st.ok()) std::filesystem::remove_all(tmp, ec);
  return st;
}

}  // namespace dshal::model
