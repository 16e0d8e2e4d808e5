// Tests of make_model: every published tensor present with its shape and dtype, FP8 scales with
// partial blocks, expert stride, sharding, determinism, and refusing to overwrite.
#include "make_model.hpp"

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "checkpoint.hpp"
#include "host/dtype.hpp"
#include "test_util.hpp"

namespace dshal::model::test {
namespace {

constexpr uint32_t kF32 = DSHAL_DTYPE_BIT(DSHAL_DTYPE_F32), kBF16 = DSHAL_DTYPE_BIT(DSHAL_DTYPE_BF16),
                   kFP8 = DSHAL_DTYPE_BIT(DSHAL_DTYPE_FP8_E4M3);

struct Expected {
  std::string name;
  std::vector<int64_t> shape;
  uint32_t dtypes;
};

// The tensors of a published DeepSeek checkpoint for config c, written out independently of make_model.
std::vector<Expected> published(const ModelConfig& c, dshal_dtype dt) {
  const bool fp8 = dt == DSHAL_DTYPE_FP8_E4M3;
  const uint32_t wide = dt == DSHAL_DTYPE_F32 ? kF32 : kBF16, lin = fp8 ? kFP8 : wide;
  std::vector<Expected> out;
  const auto linear = [&](const std::string& name, int64_t n, int64_t k) {
    out.push_back({name + ".weight", {n, k}, lin});
    if (fp8) out.push_back({name + ".weight_scale_inv", {(n + 127) / 128, (k + 127) / 128}, kF32});
  };
  const int64_t H = c.hidden_size, nh = c.num_attention_heads;
  out.push_back({"model.embed_tokens.weight", {c.vocab_size, H}, wide});
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    out.push_back({p + "input_layernorm.weight", {H}, wide});
    out.push_back({p + "post_attention_layernorm.weight", {H}, wide});
    if (c.q_lora_rank) {
      linear(p + "self_attn.q_a_proj", c.q_lora_rank, H);
      out.push_back({p + "self_attn.q_a_layernorm.weight", {c.q_lora_rank}, wide});
      linear(p + "self_attn.q_b_proj", nh * (c.qk_nope_head_dim + c.qk_rope_head_dim), c.q_lora_rank);
    } else {
      linear(p + "self_attn.q_proj", nh * (c.qk_nope_head_dim + c.qk_rope_head_dim), H);
    }
    linear(p + "self_attn.kv_a_proj_with_mqa", c.kv_lora_rank + c.qk_rope_head_dim, H);
    out.push_back({p + "self_attn.kv_a_layernorm.weight", {c.kv_lora_rank}, wide});
    linear(p + "self_attn.kv_b_proj", nh * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank);
    linear(p + "self_attn.o_proj", H, nh * c.v_head_dim);
    const bool moe = c.n_routed_experts > 0 && l >= c.first_k_dense_replace && l % c.moe_layer_freq == 0;
    const int64_t I = moe ? c.moe_intermediate_size * c.n_shared_experts : c.intermediate_size;
    const std::string mlp = p + (moe ? "mlp.shared_experts." : "mlp.");
    if (I > 0) {
      linear(mlp + "gate_proj", I, H);
      linear(mlp + "up_proj", I, H);
      linear(mlp + "down_proj", H, I);
    }
    if (!moe) continue;
    out.push_back({p + "mlp.gate.weight", {c.n_routed_experts, H}, wide});
    if (c.topk_method == TopkMethod::kNoauxTc) out.push_back({p + "mlp.gate.e_score_correction_bias", {c.n_routed_experts}, kF32});
    for (int64_t e = 0; e < c.n_routed_experts; ++e) {
      const std::string x = p + "mlp.experts." + std::to_string(e) + ".";
      linear(x + "gate_proj", c.moe_intermediate_size, H);
      linear(x + "up_proj", c.moe_intermediate_size, H);
      linear(x + "down_proj", H, c.moe_intermediate_size);
    }
  }
  out.push_back({"model.norm.weight", {H}, wide});
  if (!c.tie_word_embeddings) out.push_back({"lm_head.weight", {c.vocab_size, H}, wide});
  return out;
}

ModelConfig tiny_v2lite() {
  ModelConfig c = tiny_v3();
  c.model_type = "deepseek_v2";
  c.first_k_dense_replace = 1;
  c.q_lora_rank = 0;
  c.n_routed_experts = 8;
  c.num_experts_per_tok = 2;
  c.n_shared_experts = 2;
  c.n_group = c.topk_group = 1;
  c.scoring = Scoring::kSoftmax;
  c.topk_method = TopkMethod::kGreedy;
  c.norm_topk_prob = false;
  c.routed_scaling_factor = 1.0;
  return c;
}

ModelConfig tiny_v3_fp8() {
  ModelConfig c = tiny_v3();
  c.hidden_size = 320;
  c.q_lora_rank = 192;
  c.kv_lora_rank = 128;
  c.moe_intermediate_size = 160;
  return c;
}

// Makes the model in dir/name, opens it and requires every published tensor.
std::unique_ptr<Checkpoint> make_and_check(const ModelConfig& c, dshal_dtype dt, const std::filesystem::path& out,
                                           uint64_t max_shard = 4ull << 30, uint64_t seed = 7) {
  MakeModelOptions o;
  o.weight_dtype = dt;
  o.seed = seed;
  o.max_shard_bytes = max_shard;
  uint64_t last_done = 0, last_total = 1;
  o.progress = [&](uint64_t done, uint64_t total) { last_done = done, last_total = total; };
  Status s = make_model(c, out, o);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(last_done, last_total);
  std::unique_ptr<Checkpoint> ckpt;
  s = Checkpoint::open(out, &ckpt);
  EXPECT_TRUE(s.ok()) << s.message();
  if (!ckpt) return nullptr;
  const auto want = published(c, dt);
  for (const Expected& e : want) {
    const Status r = ckpt->require(e.name, e.shape, e.dtypes, "published layout", nullptr);
    EXPECT_TRUE(r.ok()) << r.message();
  }
  size_t count = 0;
  for (const auto& f : ckpt->files()) count += f->tensors().size();
  EXPECT_EQ(count, want.size()) << "no tensors beyond the published ones";
  return ckpt;
}

// Projection `proj` of every routed expert of layer l, with suffix ".weight" or ".weight_scale_inv".
std::vector<const TensorView*> experts(const Checkpoint& ck, int64_t l, const char* proj, const char* suffix) {
  std::vector<const TensorView*> v;
  for (int64_t e = 0; e < ck.config().n_routed_experts; ++e)
    v.push_back(ck.find("model.layers." + std::to_string(l) + ".mlp.experts." + std::to_string(e) + "." + proj + suffix));
  return v;
}

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(MakeModel, TinyV2LiteBf16EveryTensor) {
  TempDir dir;
  auto ck = make_and_check(tiny_v2lite(), DSHAL_DTYPE_BF16, dir / "m");
  ASSERT_TRUE(ck);
  EXPECT_TRUE(std::filesystem::exists(dir / "m" / "model.safetensors"));
  EXPECT_EQ(ck->config().q_lora_rank, 0);
  EXPECT_EQ(ck->config().fp8_block_n, 0);
}

TEST(MakeModel, TinyV3F32EveryTensorAndValues) {
  TempDir dir;
  auto ck = make_and_check(tiny_v3(), DSHAL_DTYPE_F32, dir / "m");
  ASSERT_TRUE(ck);
  const auto floats = [&](const std::string& name) {
    const TensorView* t = ck->find(name);
    std::vector<float> v(t->bytes / 4);
    std::memcpy(v.data(), t->data, t->bytes);
    return v;
  };
  for (float x : floats("model.layers.0.input_layernorm.weight")) EXPECT_TRUE(x >= 0.9f && x <= 1.1f) << x;
  for (float x : floats("model.layers.2.mlp.gate.e_score_correction_bias")) EXPECT_TRUE(std::fabs(x) <= 0.1f) << x;
  double sum2 = 0;
  const auto w = floats("model.layers.0.self_attn.kv_b_proj.weight");  // [4 * 40][32]: fan_in 32
  for (float x : w) sum2 += double(x) * x;
  EXPECT_NEAR(sum2 / double(w.size()), 1.0 / 32, 0.1 / 32);
}

TEST(MakeModel, Fp8ScalesWithPartialBlocks) {
  TempDir dir;
  const ModelConfig c = tiny_v3_fp8();
  auto ck = make_and_check(c, DSHAL_DTYPE_FP8_E4M3, dir / "m");
  ASSERT_TRUE(ck);
  EXPECT_EQ(ck->config().fp8_block_n, 128);
  EXPECT_EQ(ck->config().fp8_block_k, 128);
  const uint32_t f32 = kF32;
  const std::string p = "model.layers.2.";
  for (const auto& [name, shape] : std::vector<std::pair<std::string, std::vector<int64_t>>>{
           {"self_attn.q_a_proj.weight_scale_inv", {2, 3}},                // [192][320]
           {"self_attn.kv_a_proj_with_mqa.weight_scale_inv", {2, 3}},      // [144][320]
           {"self_attn.kv_b_proj.weight_scale_inv", {2, 1}},               // [160][128]
           {"mlp.experts.5.gate_proj.weight_scale_inv", {2, 3}},           // [160][320]
           {"mlp.experts.5.down_proj.weight_scale_inv", {3, 2}},           // [320][160]
           {"mlp.shared_experts.down_proj.weight_scale_inv", {3, 2}}}) {
    const Status s = ck->require(p + name, shape, f32, "fp8 blocks", nullptr);
    EXPECT_TRUE(s.ok()) << s.message();
  }
  // Each block's largest |q| is 448: the scale is the block max / 448.
  const TensorView* w = ck->find(p + "mlp.experts.5.down_proj.weight");
  const TensorView* sc = ck->find(p + "mlp.experts.5.down_proj.weight_scale_inv");
  const auto* q = reinterpret_cast<const uint8_t*>(w->data);
  std::vector<float> scale(sc->bytes / 4);
  std::memcpy(scale.data(), sc->data, sc->bytes);
  float block_max[3][2] = {};
  double sum2 = 0;
  for (int64_t r = 0; r < 320; ++r)
    for (int64_t k = 0; k < 160; ++k) {
      const float v = fp8_e4m3_to_f32(q[r * 160 + k]);
      block_max[r / 128][k / 128] = std::max(block_max[r / 128][k / 128], std::fabs(v));
      const float real = v * scale[size_t((r / 128) * 2 + k / 128)];
      sum2 += double(real) * real;
    }
  for (auto& row : block_max)
    for (float m : row) EXPECT_EQ(m, 448.0f);
  EXPECT_NEAR(sum2 / (320 * 160), 1.0 / 160, 0.15 / 160);
  EXPECT_EQ(ck->find("model.layers.2.mlp.gate.weight")->dtype, DSHAL_DTYPE_BF16);
  EXPECT_EQ(ck->find("model.embed_tokens.weight")->dtype, DSHAL_DTYPE_BF16);
}

TEST(MakeModel, ExpertsAtUniformStride) {
  TempDir dir;
  for (dshal_dtype dt : {DSHAL_DTYPE_BF16, DSHAL_DTYPE_FP8_E4M3}) {
    const std::string sub = dt == DSHAL_DTYPE_BF16 ? "bf16" : "fp8";
    auto ck = make_and_check(tiny_v3_fp8(), dt, dir / sub);
    ASSERT_TRUE(ck);
    for (int64_t l = 2; l < 3; ++l)
      for (const char* proj : {"gate_proj", "up_proj", "down_proj"}) {
        uint64_t stride = 0;
        const auto w = experts(*ck, l, proj, ".weight");
        EXPECT_TRUE(uniform_stride(w, &stride)) << proj;
        EXPECT_EQ(stride, w[0]->bytes);
        if (dt == DSHAL_DTYPE_FP8_E4M3) {
          const auto s = experts(*ck, l, proj, ".weight_scale_inv");
          EXPECT_TRUE(uniform_stride(s, &stride)) << proj;
          EXPECT_EQ(stride, s[0]->bytes);
        }
      }
    // Different projections are not one array.
    std::vector<const TensorView*> mixed = experts(*ck, 2, "gate_proj", ".weight");
    mixed[3] = ck->find("model.layers.2.mlp.experts.3.up_proj.weight");
    EXPECT_FALSE(uniform_stride(mixed, nullptr));
  }
}

TEST(MakeModel, ShardedKeepsExpertsTogether) {
  TempDir dir;
  const ModelConfig c = tiny_v3();
  // One projection of all 16 experts is 64 KiB: shards of 80 KiB hold at most one.
  auto ck = make_and_check(c, DSHAL_DTYPE_BF16, dir / "m", /*max_shard=*/80 << 10);
  ASSERT_TRUE(ck);
  EXPECT_GT(ck->files().size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(dir / "m" / "model.safetensors.index.json"));
  EXPECT_FALSE(std::filesystem::exists(dir / "m" / "model.safetensors"));
  const std::string n = std::to_string(ck->files().size());
  EXPECT_TRUE(std::filesystem::exists(dir / "m" / ("model-00001-of-" + std::string(5 - n.size(), '0') + n + ".safetensors")));
  for (const auto& f : ck->files()) EXPECT_LE(f->size() - f->data_start(), 80u << 10) << f->path();
  for (const char* proj : {"gate_proj", "up_proj", "down_proj"}) EXPECT_TRUE(uniform_stride(experts(*ck, 2, proj, ".weight"), nullptr));
}

TEST(MakeModel, DeterministicPerSeedAndShardingIndependent) {
  TempDir dir;
  const ModelConfig c = tiny_v2lite();
  auto a = make_and_check(c, DSHAL_DTYPE_BF16, dir / "a", 4ull << 30, 1);
  auto b = make_and_check(c, DSHAL_DTYPE_BF16, dir / "b", 4ull << 30, 1);
  auto s = make_and_check(c, DSHAL_DTYPE_BF16, dir / "s", 64 << 10, 1);
  auto d = make_and_check(c, DSHAL_DTYPE_BF16, dir / "d", 4ull << 30, 2);
  ASSERT_TRUE(a && b && s && d);
  EXPECT_EQ(read_all(dir / "a" / "model.safetensors"), read_all(dir / "b" / "model.safetensors"));
  const auto same = [](const Checkpoint& x, const Checkpoint& y, const std::string& name) {
    const TensorView *p = x.find(name), *q = y.find(name);
    return p && q && p->bytes == q->bytes && std::memcmp(p->data, q->data, p->bytes) == 0;
  };
  for (const auto& [name, t] : a->files()[0]->tensors()) {
    EXPECT_TRUE(same(*a, *s, name)) << name;
    EXPECT_FALSE(same(*a, *d, name)) << name;
  }
}

TEST(MakeModel, TiedEmbeddingsAndDense) {
  TempDir dir;
  ModelConfig c = tiny_v2lite();
  c.tie_word_embeddings = true;
  c.n_routed_experts = 0;
  auto ck = make_and_check(c, DSHAL_DTYPE_F32, dir / "m");
  ASSERT_TRUE(ck);
  EXPECT_EQ(ck->find("lm_head.weight"), nullptr);
  EXPECT_EQ(ck->find("model.layers.2.mlp.gate.weight"), nullptr);
}

TEST(MakeModel, RefusesNonEmptyFolderAndLeavesNothingOnError) {
  TempDir dir;
  std::filesystem::create_directory(dir / "full");
  write_file(dir / "full" / "keep.txt", "x");
  MakeModelOptions o;
  Status s = make_model(tiny_v3(), dir / "full", o);
  EXPECT_EQ(s.code(), DSHAL_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(names(s, {(dir / "full").string(), "not an empty folder"}));
  EXPECT_EQ(read_all(dir / "full" / "keep.txt"), "x");

  ModelConfig bad = tiny_v3();
  bad.topk_group = 9;
  s = make_model(bad, dir / "bad", o);
  EXPECT_EQ(s.code(), DSHAL_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(names(s, {"topk_group = 9 exceeds n_group = 4"}));
  o.weight_dtype = DSHAL_DTYPE_INT4;
  s = make_model(tiny_v3(), dir / "bad", o);
  EXPECT_EQ(s.code(), DSHAL_ERROR_INVALID_ARGUMENT);
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1u) << "only 'full'; no partial output";

  std::filesystem::create_directory(dir / "empty");
  o.weight_dtype = DSHAL_DTYPE_BF16;
  s = make_model(tiny_v3(), dir / "empty/", o);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(std::filesystem::exists(dir / "empty" / "config.json"));
}

}  // namespace
}  // namespace dshal::model::test
