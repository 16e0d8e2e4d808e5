// Tier "model": the tiny DeepSeek checkpoints of model/golden/ run end to end on the device under
// test, against transformers' fp32 logits (f32 activations) and against the device's own f32 run
// (bf16 activations), with both MLA forms.
#include <cmath>
#include <cstdlib>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "model/model.hpp"
#include "model/npy.hpp"

namespace dshal::conformance {
namespace {

using model::AttentionForm;

std::filesystem::path golden_root() {
  const char* env = std::getenv("DSHAL_GOLDEN_DIR");
  return env && *env ? std::filesystem::path(env) : std::filesystem::path(DSHAL_GOLDEN_DIR);
}

struct Golden {
  std::filesystem::path dir;
  std::vector<int32_t> prompt, generated;
  std::vector<int64_t> shape;  // [prompt + generated - 1, vocab]
  std::vector<float> logits;
};

void load_golden(const std::string& name, Golden* g) {
  g->dir = golden_root() / name;
  std::ifstream in(g->dir / "golden.json");
  ASSERT_TRUE(in) << "cannot read " << (g->dir / "golden.json") << " (set DSHAL_GOLDEN_DIR to model/golden)";
  const nlohmann::json j = nlohmann::json::parse(in);
  g->prompt = j.at("prompt_ids").get<std::vector<int32_t>>();
  g->generated = j.at("generated_ids").get<std::vector<int32_t>>();
  const Status st = model::read_npy_f32(g->dir / "logits.npy", &g->shape, &g->logits);
  ASSERT_TRUE(st.ok()) << st.to_string();
  ASSERT_EQ(g->shape.size(), 2u);
  ASSERT_EQ(g->shape[0], int64_t(g->prompt.size() + g->generated.size() - 1)) << "logits.npy rows";
}

// Every logits row: the prompt's, then one per generated token fed back (teacher forcing with the
// golden ids, so rows line up even where a near-tie could pick another token).
void run_model(const std::string& id, const Golden& g, dshal_dtype act, AttentionForm form, std::vector<float>* out) {
  model::ModelOptions opts;
  opts.activations = act;
  opts.attention = form;
  opts.max_seq = int64_t(g.prompt.size() + g.generated.size());
  opts.max_batch_tokens = 4;  // the 7-token prompt runs as two chunks: chunked prefill is covered
  std::unique_ptr<model::Model> m;
  const Status load = model::Model::load(g.dir, device(id), opts, &m);
  ASSERT_TRUE(load.ok()) << load.to_string();
  std::vector<float> row;
  const Status prefill = m->forward(g.prompt, true, out);
  ASSERT_TRUE(prefill.ok()) << prefill.to_string();
  for (size_t i = 0; i + 1 < g.generated.size(); ++i) {
    const Status st = m->forward(std::span<const int32_t>(&g.generated[i], 1), false, &row);
    ASSERT_TRUE(st.ok()) << st.to_string();
    out->insert(out->end(), row.begin(), row.end());
  }
  ASSERT_EQ(out->size(), g.logits.size());
}

struct RowStats {
  double max_abs = 0;
  size_t top = 0;
  double lead = 0;  // top logit minus the second
};
RowStats row_stats(const float* r, size_t n) {
  RowStats s;
  double second = -INFINITY, best = -INFINITY;
  for (size_t i = 0; i < n; ++i) {
    s.max_abs = std::max(s.max_abs, std::fabs(double(r[i])));
    if (r[i] > best) {
      second = best;
      best = r[i];
      s.top = i;
    } else if (r[i] > second) {
      second = r[i];
    }
  }
  s.lead = best - second;
  return s;
}

// f32: max|got - transformers| <= 1e-4 * max|transformers logit| in every row.
void check_f32(const std::string& id, const std::string& name, AttentionForm form) {
  Golden g;
  ASSERT_NO_FATAL_FAILURE(load_golden(name, &g));
  std::vector<float> got;
  ASSERT_NO_FATAL_FAILURE(run_model(id, g, DSHAL_DTYPE_F32, form, &got));
  const size_t V = size_t(g.shape[1]);
  std::vector<double> ref(g.logits.begin(), g.logits.end()), bound(ref.size());
  for (size_t r = 0; r < ref.size() / V; ++r) {
    const double scale = row_stats(&g.logits[r * V], V).max_abs;
    for (size_t i = 0; i < V; ++i) bound[r * V + i] = 1e-4 * scale;
  }
  expect_within(compare(ref, got, bound), fmt::format("{} f32 logits vs transformers", name));
}

// bf16: cosine >= 0.999 with the f32 run in every row, and the same argmax wherever the f32 top
// logit leads the second by more than 1% of max|logit|.
void check_bf16(const std::string& id, const std::string& name, AttentionForm form) {
  Golden g;
  ASSERT_NO_FATAL_FAILURE(load_golden(name, &g));
  std::vector<float> f32, bf16;
  ASSERT_NO_FATAL_FAILURE(run_model(id, g, DSHAL_DTYPE_F32, form, &f32));
  ASSERT_NO_FATAL_FAILURE(run_model(id, g, DSHAL_DTYPE_BF16, form, &bf16));
  const size_t V = size_t(g.shape[1]);
  double worst_cos = 1.0;
  for (size_t r = 0; r < f32.size() / V; ++r) {
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < V; ++i) {
      dot += double(f32[r * V + i]) * bf16[r * V + i];
      na += double(f32[r * V + i]) * f32[r * V + i];
      nb += double(bf16[r * V + i]) * bf16[r * V + i];
    }
    const double cos = dot / std::sqrt(na * nb);
    worst_cos = std::min(worst_cos, cos);
    EXPECT_GE(cos, 0.999) << name << " row " << r << ": cosine of bf16 and f32 logits";
    const RowStats a = row_stats(&f32[r * V], V), b = row_stats(&bf16[r * V], V);
    if (a.lead > 0.01 * a.max_abs) {
      EXPECT_EQ(a.top, b.top) << name << " row " << r << ": bf16 argmax";
    }
  }
  testing::Test::RecordProperty("worst_cosine", fmt::format("{:.6f}", worst_cos));
}

class ModelGolden : public DeviceTest {};

#define DSHAL_GOLDEN_CASES(Test, name)                                                                \
  TEST_P(ModelGolden, Test##_F32_Naive) { check_f32(id(), name, AttentionForm::kNaive); }             \
  TEST_P(ModelGolden, Test##_F32_Absorbed) { check_f32(id(), name, AttentionForm::kAbsorbed); }       \
  TEST_P(ModelGolden, Test##_Bf16_Naive) { check_bf16(id(), name, AttentionForm::kNaive); }           \
  TEST_P(ModelGolden, Test##_Bf16_Absorbed) { check_bf16(id(), name, AttentionForm::kAbsorbed); }

DSHAL_GOLDEN_CASES(TV2Lite, "t-v2lite")
DSHAL_GOLDEN_CASES(TV2Group, "t-v2group")
DSHAL_GOLDEN_CASES(TV3, "t-v3")
DSHAL_GOLDEN_CASES(TV3Fp8, "t-v3-fp8")

DSHAL_INSTANTIATE(model, ModelGolden);

}  // namespace
}  // namespace dshal::conformance
