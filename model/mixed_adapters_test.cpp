// Expert parallelism over devices of different adapters: hal stages all_to_all through host memory,
// and the golden models run with their routed experts split between the cpu and another adapter's
// device. Skipped (with the reason) where the cpu is the only adapter with a device.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <dshal/dshal.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "model/expert_parallel.hpp"
#include "model/model.hpp"
#include "model/npy.hpp"

namespace dshal::model {
namespace {

// The first device of an adapter other than the cpu, or "" when there is none.
std::string other_adapter_device() {
  std::vector<DeviceInfo> devices;
  if (!list_devices(&devices).ok()) return "";
  for (const DeviceInfo& d : devices)
    if (d.backend != "cpu") return d.id;
  return "";
}

class MixedAdapters : public testing::Test {
 protected:
  void SetUp() override {
    const std::string other = other_adapter_device();
    if (other.empty()) GTEST_SKIP() << "no device of an adapter other than the cpu here";
    ASSERT_TRUE(open_device("cpu:0", &cpu_).ok());
    const Status st = open_device(other, &other_);
    ASSERT_TRUE(st.ok()) << st.to_string();
  }
  Device devices_[2];  // the cpu, then the other adapter's device
  Device& cpu_ = devices_[0];
  Device& other_ = devices_[1];
};

// Uneven counts both ways, with gaps: every received range arrives, nothing else is written.
TEST_F(MixedAdapters, StagedAllToAllMovesEveryRangeAndNothingElse) {
  const Device* devs[] = {&cpu_, &other_};
  Communicator comm;
  ASSERT_TRUE(Communicator::create(devs, &comm).ok());
  Stream s[2];
  Buffer send[2], recv[2];
  // counts[r][p]: elements (4 bytes) rank r sends rank p; send blocks at 1 + 10 * p, recv at 2 + 10 * r.
  const uint64_t counts[2][2] = {{3, 7}, {5, 0}};
  uint64_t sdispl[2][2], rcount[2][2], rdispl[2][2];
  std::vector<uint32_t> data[2];
  const std::vector<uint32_t> fill(32, 0xeeeeeeeeu);  // read when the copies run
  for (int r = 0; r < 2; ++r) {
    const Device& d = *devs[r];
    ASSERT_TRUE(d.create_stream(&s[r]).ok());
    data[r].resize(32);
    for (size_t i = 0; i < data[r].size(); ++i) data[r][i] = uint32_t(1000 * (r + 1) + i);
    ASSERT_TRUE(d.alloc(32 * 4, &send[r]).ok());
    ASSERT_TRUE(d.alloc(32 * 4, &recv[r]).ok());
    ASSERT_TRUE(s[r].copy_h2d(data[r].data(), send[r], 0, 32 * 4).ok());
    ASSERT_TRUE(s[r].copy_h2d(fill.data(), recv[r], 0, 32 * 4).ok());
    for (int p = 0; p < 2; ++p) {
      sdispl[r][p] = 1 + 10 * uint64_t(p);
      rcount[r][p] = counts[p][r];
      rdispl[r][p] = 2 + 10 * uint64_t(p);
    }
  }
  dshal_all_to_all_rank ranks[2];
  for (int r = 0; r < 2; ++r)
    ranks[r] = {stream_handle(s[r]), ref(send[r]), counts[r], sdispl[r], ref(recv[r]), rcount[r], rdispl[r]};
  auto x = desc<dshal_all_to_all_desc>();
  x.elem_bytes = 4;
  x.rank_count = 2;
  x.ranks = ranks;
  const Status st = comm.all_to_all(x);
  ASSERT_TRUE(st.ok()) << st.to_string();
  for (int r = 0; r < 2; ++r) {
    std::vector<uint32_t> got(32);
    ASSERT_TRUE(s[r].copy_d2h(recv[r], 0, got.data(), 32 * 4).ok());
    ASSERT_TRUE(s[r].synchronize().ok());
    std::vector<uint32_t> want(32, 0xeeeeeeeeu);
    for (int p = 0; p < 2; ++p)
      for (uint64_t e = 0; e < counts[p][r]; ++e) want[rdispl[r][p] + e] = data[p][sdispl[p][r] + e];
    EXPECT_EQ(got, want) << "rank " << r << " (" << devs[r]->id() << ")";
  }
}

// f32 logits of every golden model, home on the cpu and the routed experts split between the cpu
// and the other device, against transformers within the model tier's bound: 1e-4 x max|logit| of
// each row (teacher-forced with the golden ids).
TEST_F(MixedAdapters, GoldenModelsMatchTransformers) {
  for (const char* name : {"t-v2lite", "t-v2group", "t-v3", "t-v3-fp8"}) {
    const std::filesystem::path dir = std::filesystem::path(DSHAL_GOLDEN_DIR) / name;
    std::ifstream in(dir / "golden.json");
    ASSERT_TRUE(in) << dir;
    const nlohmann::json j = nlohmann::json::parse(in);
    const auto prompt = j.at("prompt_ids").get<std::vector<int32_t>>();
    const auto generated = j.at("generated_ids").get<std::vector<int32_t>>();
    std::vector<int64_t> shape;
    std::vector<float> ref_logits;
    ASSERT_TRUE(read_npy_f32(dir / "logits.npy", &shape, &ref_logits).ok());

    ModelOptions opts;
    opts.activations = DSHAL_DTYPE_F32;
    opts.max_seq = int64_t(prompt.size() + generated.size());
    opts.routed_experts = ExpertParallel::factory(devices_, opts.activations, opts.max_batch_tokens);
    std::unique_ptr<Model> m;
    const Status load = Model::load(dir, cpu_, opts, &m);
    ASSERT_TRUE(load.ok()) << name << ": " << load.to_string();
    ASSERT_EQ(m->expert_weight_stats().size(), 2u);
    std::vector<float> got, row;
    ASSERT_TRUE(m->forward(prompt, true, &got).ok());
    for (size_t i = 0; i + 1 < generated.size(); ++i) {
      ASSERT_TRUE(m->forward(std::span<const int32_t>(&generated[i], 1), false, &row).ok());
      got.insert(got.end(), row.begin(), row.end());
    }
    ASSERT_EQ(got.size(), ref_logits.size()) << name;
    const size_t V = size_t(shape[1]);
    for (size_t r = 0; r < got.size() / V; ++r) {
      double scale = 0, worst = 0;
      for (size_t i = 0; i < V; ++i) scale = std::max(scale, std::fabs(double(ref_logits[r * V + i])));
      for (size_t i = 0; i < V; ++i) worst = std::max(worst, std::fabs(double(got[r * V + i]) - ref_logits[r * V + i]));
      EXPECT_LE(worst, 1e-4 * scale) << fmt::format("{} on cpu:0 + {}: row {}", name, other_.id(), r);
    }
  }
}

}  // namespace
}  // namespace dshal::model
