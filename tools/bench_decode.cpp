// Decode speed against the bandwidth bound: a decoded token must read its active weights once, so
// tokens/s x bytes per token cannot exceed the memory read bandwidth.
#include "bench_decode.hpp"

#include <chrono>
#include <cstdio>
#include <iostream>

#include <fmt/format.h>

#include "model/expert_parallel.hpp"
#include "model/model.hpp"
#include "model/sampler.hpp"

namespace dshal::cli {

Status bench_decode(std::span<const Device> devices, const DecodeBenchArgs& args, double stream_read_gbps,
                    nlohmann::json* out) {
  using Clock = std::chrono::steady_clock;
  model::ModelOptions opts;
  opts.activations = args.dtype == "f32" ? DSHAL_DTYPE_F32 : DSHAL_DTYPE_BF16;
  opts.max_seq = args.prompt_len + args.new_tokens;
  if (devices.size() > 1)
    opts.routed_experts = model::ExpertParallel::factory(devices, opts.activations, opts.max_batch_tokens);
  std::fprintf(stderr, "  model %s on %zu device(s): loading ...\n", args.model.c_str(), devices.size());
  std::unique_ptr<model::Model> m;
  DSHAL_RETURN_IF_ERROR(model::Model::load(args.model, devices[0], opts, &m));
  std::vector<int32_t> prompt(size_t(args.prompt_len));
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = int32_t((i * 37 + 11) % uint64_t(m->config().vocab_size));
  std::vector<float> logits;
  model::Sampler greedy({});

  std::fprintf(stderr, "  model: prefill %lld tokens, decode %lld ...\n", (long long)args.prompt_len, (long long)args.new_tokens);
  const auto t0 = Clock::now();
  DSHAL_RETURN_IF_ERROR(m->forward(prompt, false, &logits));
  const double prefill_s = std::chrono::duration<double>(Clock::now() - t0).count();
  int32_t next = greedy.next(logits);
  const auto t1 = Clock::now();
  for (int64_t i = 0; i < args.new_tokens; ++i) {
    DSHAL_RETURN_IF_ERROR(m->forward(std::span<const int32_t>(&next, 1), false, &logits));
    next = greedy.next(logits);
  }
  const double decode_s = std::chrono::duration<double>(Clock::now() - t1).count();

  const double decode_tps = double(args.new_tokens) / decode_s;
  const uint64_t bytes = m->weight_bytes_per_token();
  const double achieved_gbps = decode_tps * double(bytes) / 1e9;
  (*out)["model"] = args.model;
  (*out)["devices"] = devices.size();
  (*out)["dtype"] = args.dtype;
  (*out)["prompt_tokens"] = args.prompt_len;
  (*out)["decoded_tokens"] = args.new_tokens;
  (*out)["prefill_tokens_per_s"] = double(args.prompt_len) / prefill_s;
  (*out)["decode_tokens_per_s"] = decode_tps;
  (*out)["weight_bytes_per_token"] = bytes;
  (*out)["decode_weight_read_gbps"] = achieved_gbps;
  (*out)["decode_bandwidth_ratio"] = achieved_gbps / stream_read_gbps;
  return Status();
}

Status bench_decode_by_devices(std::span<const Device> devices, const DecodeBenchArgs& args, double stream_read_gbps,
                               nlohmann::json* out) {
  std::unique_ptr<model::Checkpoint> ckpt;
  DSHAL_RETURN_IF_ERROR(model::Checkpoint::open(args.model, &ckpt));
  const int64_t experts = ckpt->config().n_routed_experts;
  *out = nlohmann::json::array();
  double one_device = 0;
  // Unmeasured first pass: the first load pays for the page cache, which would flatter the rest.
  nlohmann::json warm_up;
  DSHAL_RETURN_IF_ERROR(bench_decode(devices.first(1), args, stream_read_gbps, &warm_up));
  for (size_t d = 1; d <= devices.size(); ++d) {
    if (experts % int64_t(d) != 0) continue;
    nlohmann::json r;
    DSHAL_RETURN_IF_ERROR(bench_decode(devices.first(d), args, stream_read_gbps, &r));
    const double tps = r["decode_tokens_per_s"].get<double>();
    if (d == 1) one_device = tps;
    r["decode_ratio_vs_one_device"] = tps / one_device;
    out->push_back(r);
  }
  return Status();
}

void print_decode(const nlohmann::json& bench) {
  const nlohmann::json& d = bench["decode"];
  std::cout << fmt::format("model: prefill {:.1f} tokens/s, decode {:.2f} tokens/s x {:.1f} MB of weights per token = "
                           "{:.1f} GB/s = {:.2f} x STREAM read\n",
                           d["prefill_tokens_per_s"].get<double>(), d["decode_tokens_per_s"].get<double>(),
                           double(d["weight_bytes_per_token"].get<uint64_t>()) / 1e6,
                           d["decode_weight_read_gbps"].get<double>(), d["decode_bandwidth_ratio"].get<double>());
  if (!bench.contains("decode_by_devices")) return;
  std::cout << fmt::format("{:>8} {:>16} {:>16} {:>12}\n", "devices", "prefill tok/s", "decode tok/s", "vs 1 device");
  for (const nlohmann::json& r : bench["decode_by_devices"])
    std::cout << fmt::format("{:>8} {:>16.1f} {:>16.2f} {:>11.2f}x\n", r["devices"].get<size_t>(),
                             r["prefill_tokens_per_s"].get<double>(), r["decode_tokens_per_s"].get<double>(),
                             r["decode_ratio_vs_one_device"].get<double>());
}

}  // namespace dshal::cli
