// Tests of Checkpoint: single file and sharded folders, require() and every rejected folder.
#include "checkpoint.hpp"

#include "test_util.hpp"

namespace dshal::model::test {
namespace {

constexpr uint32_t kF32 = DSHAL_DTYPE_BIT(DSHAL_DTYPE_F32), kBF16 = DSHAL_DTYPE_BIT(DSHAL_DTYPE_BF16);

TensorToWrite f32(const std::string& name, std::vector<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return {name, "F32", std::move(shape), std::vector<std::byte>(size_t(n) * 4)};
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override { write_file(dir_ / "config.json", config_to_json(tiny_v3())); }
  Status open() { return Checkpoint::open(dir_.path(), &ckpt_); }
  // Two shards and an index naming them.
  void write_sharded(const std::string& index_json) {
    ASSERT_TRUE(write_safetensors(dir_ / "model-00001-of-00002.safetensors", {f32("model.embed_tokens.weight", {256, 64})}).ok());
    ASSERT_TRUE(write_safetensors(dir_ / "model-00002-of-00002.safetensors", {f32("model.norm.weight", {64})}).ok());
    write_file(dir_ / "model.safetensors.index.json", index_json);
  }
  TempDir dir_;
  std::unique_ptr<Checkpoint> ckpt_;
};

const char* kIndex = R"({"metadata": {"total_size": 65792}, "weight_map": {
  "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
  "model.norm.weight": "model-00002-of-00002.safetensors"}})";

TEST_F(CheckpointTest, SingleFileRequire) {
  ASSERT_TRUE(write_safetensors(dir_ / "model.safetensors",
                                {f32("model.norm.weight", {64}), f32("model.layers.3.mlp.gate.weight", {16, 64}),
                                 f32("extra.tensor", {1})})
                  .ok());
  ASSERT_TRUE(open().ok());
  EXPECT_EQ(ckpt_->config().n_routed_experts, 16);
  EXPECT_EQ(ckpt_->files().size(), 1u);
  const TensorView* t = nullptr;
  ASSERT_TRUE(ckpt_->require("model.norm.weight", {64}, kF32 | kBF16, "hidden_size", &t).ok());
  EXPECT_EQ(t->shape, std::vector<int64_t>{64});
  EXPECT_EQ(ckpt_->find("model.norm.weight"), t);
  EXPECT_EQ(ckpt_->find("nope"), nullptr);
}

TEST_F(CheckpointTest, RequireMissingTensor) {
  ASSERT_TRUE(write_safetensors(dir_ / "model.safetensors", {f32("model.norm.weight", {64})}).ok());
  ASSERT_TRUE(open().ok());
  const Status s = ckpt_->require("model.layers.3.mlp.gate.weight", {16, 64}, kF32, "layer 3 is a MoE layer", nullptr);
  EXPECT_EQ(s.code(), DSHAL_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(names(s, {dir_.path().string(), "tensor 'model.layers.3.mlp.gate.weight' is missing (layer 3 is a MoE layer)"}));
}

TEST_F(CheckpointTest, RequireWrongShape) {
  ASSERT_TRUE(write_safetensors(dir_ / "model.safetensors", {f32("model.layers.2.mlp.gate.weight", {8, 64})}).ok());
  ASSERT_TRUE(open().ok());
  const Status s = ckpt_->require("model.layers.2.mlp.gate.weight", {16, 64}, kF32,
                                  "config.json (hidden_size = 64, n_routed_experts = 16)", nullptr);
  EXPECT_EQ(s.code(), DSHAL_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(names(s, {(dir_ / "model.safetensors").string(), "'model.layers.2.mlp.gate.weight'", "has shape [8, 64]",
                        "n_routed_experts = 16) implies [16, 64]"}));
}

TEST_F(CheckpointTest, RequireWrongDtype) {
  ASSERT_TRUE(write_safetensors(dir_ / "model.safetensors", {{"model.norm.weight", "U8", {64}, std::vector<std::byte>(64)}}).ok());
  ASSERT_TRUE(open().ok());
  const Status s = ckpt_->require("model.norm.weight", {64}, kF32 | kBF16, "a norm weight", nullptr);
  EXPECT_EQ(s.code(), DSHAL_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(names(s, {(dir_ / "model.safetensors").string(), "'model.norm.weight'", "dtype U8", "F32, BF16"}));
}

TEST_F(CheckpointTest, Sharded) {
  write_sharded(kIndex);
  const Status s = open();
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(ckpt_->files().size(), 2u);
  const TensorView* t = nullptr;
  ASSERT_TRUE(ckpt_->require("model.embed_tokens.weight", {256, 64}, kF32, "vocab", &t).ok());
  EXPECT_NE(t->file.find("model-00001-of-00002"), std::string::npos);
  ASSERT_TRUE(ckpt_->require("model.norm.weight", {64}, kF32, "hidden", &t).ok());
  EXPECT_NE(t->file.find("model-00002-of-00002"), std::string::npos);
}

TEST_F(CheckpointTest, IndexNamesTensorNotInShard) {
  write_sharded(R"({"weight_map": {"model.norm.weight": "model-00002-of-00002.safetensors",
                                    "lm_head.weight": "model-00002-of-00002.safetensors"}})");
  const Status s = open();
  EXPECT_EQ(s.code(), DSHAL_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(names(s, {"model.safetensors.index.json", "'lm_head.weight'", "model-00002-of-00002.safetensors"}));
}

TEST_F(CheckpointTest, IndexNamesMissingShard) {
  write_sharded(R"({"weight_map": {"model.norm.weight": "model-00003-of-00003.safetensors"}})");
  const Status s = open();
  EXPECT_EQ(s.code(), DSHAL_ERROR_NOT_FOUND);
  EXPECT_TRUE(names(s, {"model.safetensors.index.json", "model-00003-of-00003.safetensors", "'model.norm.weight'"}));
}

TEST_F(CheckpointTest, IndexGarbledOrEscaping) {
  write_sharded("{\"weight_map\": ");
  Status s = open();
  EXPECT_EQ(s.code(), DSHAL_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(names(s, {"model.safetensors.index.json", "JSON"}));
  write_file(dir_ / "model.safetensors.index.json", R"({"weight_map": {"x": "../../etc/passwd"}})");
  s = open();
  EXPECT_EQ(s.code(), DSHAL_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(names(s, {"model.safetensors.index.json", "weight_map['x']"}));
  write_file(dir_ / "model.safetensors.index.json", R"({"metadata": {}})");
  s = open();
  EXPECT_EQ(s.code(), DSHAL_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(names(s, {"model.safetensors.index.json", "weight_map"}));
}

TEST_F(CheckpointTest, BadShardNamesFileAndTensor) {
  write_sharded(kIndex);
  write_file(dir_ / "model-00002-of-00002.safetensors",
             std::string("\x40\0\0\0\0\0\0\0", 8) + R"({"model.norm.weight": {"dtype": "F64", "shape": [64], "data_offsets": [0, 512]}})");
  const Status s = open();
  EXPECT_EQ(s.code(), DSHAL_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(names(s, {"model-00002-of-00002.safetensors"}));
}

TEST_F(CheckpointTest, NoWeights) {
  const Status s = open();
  EXPECT_EQ(s.code(), DSHAL_ERROR_NOT_FOUND);
  EXPECT_TRUE(names(s, {dir_.path().string(), "model.safetensors"}));
}

TEST_F(CheckpointTest, NoFolderOrNoConfig) {
  Status s = Checkpoint::open(dir_ / "nosuch", &ckpt_);
  EXPECT_EQ(s.code(), DSHAL_ERROR_NOT_FOUND);
  EXPECT_TRUE(names(s, {(dir_ / "nosuch").string()}));
  std::filesystem::remove(dir_ / "config.json");
  s = open();
  EXPECT_EQ(s.code(), DSHAL_ERROR_NOT_FOUND);
  EXPECT_TRUE(names(s, {(dir_ / "config.json").string()}));
}

TEST_F(CheckpointTest, InconsistentConfig) {
  ModelConfig c = tiny_v3();
  c.topk_group = 5;
  write_file(dir_ / "config.json", config_to_json(c));
  ASSERT_TRUE(write_safetensors(dir_ / "model.safetensors", {f32("model.norm.weight", {64})}).ok());
  const Status s = open();
  EXPECT_EQ(s.code(), DSHAL_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(names(s, {(dir_ / "config.json").string(), "topk_group = 5 exceeds n_group = 4"}));
}

}  // namespace
}  // namespace dshal::model::test
