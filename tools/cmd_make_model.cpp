// `dshal make-model`: writes a random DeepSeek checkpoint (config.json + safetensors) for a config.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "model/checkpoint.hpp"
#include "model/make_model.hpp"

namespace dshal::cli {
namespace {

struct Args {
  std::string config, out, dtype = "bf16";
  uint64_t seed = 0;
};

int run_make_model(const Args& a) {
  model::ModelConfig config;
  Status st = model::load_config(a.config, &config);
  if (!st.ok()) {
    std::cerr << "dshal make-model: " << st.message() << "\n";
    return kUsage;
  }
  model::MakeModelOptions o;
  o.weight_dtype = a.dtype == "f32" ? DSHAL_DTYPE_F32 : a.dtype == "fp8" ? DSHAL_DTYPE_FP8_E4M3 : DSHAL_DTYPE_BF16;
  o.seed = a.seed;
  using Clock = std::chrono::steady_clock;
  auto last = Clock::now() - std::chrono::seconds(1);
  bool printed = false;
  o.progress = [&](uint64_t done, uint64_t total) {
    const auto now = Clock::now();
    if (done != total && now - last < std::chrono::milliseconds(250)) return;  // a few lines a second at most
    last = now;
    printed = true;
    std::fprintf(stderr, "\rmake-model: %.1f / %.1f MB", double(done) / 1e6, double(total) / 1e6);
    std::fflush(stderr);
  };
  st = model::make_model(config, a.out, o);
  if (printed) std::fputs("\n", stderr);
  if (!st.ok()) {
    std::cerr << "dshal make-model: " << st.message() << "\n";
    return st.code() == DSHAL_ERROR_INVALID_ARGUMENT ? kUsage : kFailed;
  }
  std::unique_ptr<model::Checkpoint> ck;  // reopen: the summary counts what is on disk
  st = model::Checkpoint::open(a.out, &ck);
  if (!st.ok()) {
    std::cerr << "dshal make-model: wrote " << a.out << " but cannot read it back: " << st.message() << "\n";
    return kFailed;
  }
  uint64_t tensors = 0, bytes = 0;
  for (const auto& f : ck->files()) tensors += f->tensors().size(), bytes += f->size();
  std::cout << fmt::format("{}: {} tensors, {} bytes in {} file(s)\n", a.out, tensors, bytes, ck->files().size());
  return kOk;
}

}  // namespace

void add_make_model_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("make-model", "Write a random DeepSeek checkpoint (config.json + safetensors) for a config");
  auto args = std::make_shared<Args>();
  cmd->add_option("--config", args->config, "A DeepSeek config.json (published Hugging Face layout)")->required();
  cmd->add_option("--out", args->out, "Output folder (must not exist or be empty)")->required();
  cmd->add_option("--dtype", args->dtype, "Weight dtype: f32, bf16, or fp8 (F8_E4M3 with 128x128 weight_scale_inv)")
      ->check(CLI::IsMember({"f32", "bf16", "fp8"}))
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Random seed (same seed, same bytes)")->capture_default_str();
  cmd->callback([=] { *exit_code = run_make_model(*args); });
}

}  // namespace dshal::cli
