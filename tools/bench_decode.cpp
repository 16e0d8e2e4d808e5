// Decode speed against the bandwidth bound: a decoded token must read its active weights once, so
// tokens/s x bytes per token cannot exceed the memory read bandwidth.
#include "bench_decode.hpp"

#include <chrono>
#include <cstdio>

#include "model/model.hpp"
#include "model/sampler.hpp"

namespace dshal::cli {

Status bench_decode(const Device& device, const DecodeBenchArgs& args, double stream_read_gbps, nlohmann::json* out) {
  using Clock = std::chrono::steady_clock;
  model::ModelOptions opts;
  opts.activations = args.dtype == "f32" ? DSHAL_DTYPE_F32 : DSHAL_DTYPE_BF16;
  opts.max_seq = args.prompt_len + args.new_tokens;
  std::fprintf(stderr, "  model %s: loading ...\n", args.model.c_str());
  std::unique_ptr<model::Model> m;
  DSHAL_RETURN_IF_ERROR(model::Model::load(args.model, device, opts, &m));
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

}  // namespace dshal::cli
