// `dshal run`: load a DeepSeek checkpoint onto a device, prefill a prompt, decode new tokens, and
// report the ids and tokens/s (optionally every logits row as .npy).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <dshal/dshal.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "model/model.hpp"
#include "model/npy.hpp"
#include "model/sampler.hpp"

namespace dshal::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct RunArgs {
  std::string model, device, prompt_ids, attn = "absorb", dtype, logits_out;
  int64_t max_new_tokens = 16, max_batch_tokens = 128;
  uint64_t seed = 0;
  float temperature = 0.0f, top_p = 1.0f;
  bool json = false;
};

bool parse_ids(const std::string& text, std::vector<int32_t>* ids) {
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(word.c_str(), &end, 10);
    if (*end != '\0' || errno != 0 || v < 0 || v > INT32_MAX) {
      std::cerr << "dshal run: --prompt-ids: '" << word << "' is not a token id (a non-negative integer)\n";
      return false;
    }
    ids->push_back(int32_t(v));
  }
  if (ids->empty()) std::cerr << "dshal run: --prompt-ids is empty\n";
  return !ids->empty();
}

// VmRSS and VmHWM of this process, in bytes.
std::pair<uint64_t, uint64_t> resident_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  uint64_t rss = 0, hwm = 0;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) rss = std::stoull(line.substr(6)) * 1024;
    if (line.rfind("VmHWM:", 0) == 0) hwm = std::stoull(line.substr(6)) * 1024;
  }
  return {rss, hwm};
}

int fail(const Status& st) {
  std::cerr << "dshal run: " << st.message() << "\n";
  const bool bad_input = st.code() == DSHAL_ERROR_INVALID_ARGUMENT || st.code() == DSHAL_ERROR_NOT_FOUND;
  return bad_input ? kUsage : kFailed;
}

int run(const RunArgs& args) {
  std::vector<int32_t> prompt;
  if (!parse_ids(args.prompt_ids, &prompt)) return kUsage;
  if (args.max_new_tokens < 1) {
    std::cerr << "dshal run: --max-new-tokens = " << args.max_new_tokens << " must be at least 1\n";
    return kUsage;
  }
  std::vector<std::string> ids;
  if (!resolve_devices(args.device.empty() ? device_spec_from_env("auto") : args.device, &ids)) return kUsage;
  // Several devices: expert parallelism, the routed experts spread over them, the rest on the first.
  for (const std::string& id : ids)
    if (id.substr(0, id.find(':')) != ids[0].substr(0, ids[0].find(':'))) {
      std::cerr << "dshal run: --device lists " << ids[0] << " and " << id
                << ", devices of different adapters; mixing adapters for expert parallelism is not supported yet\n";
      return kUsage;
    }
  std::vector<Device> devices(ids.size());
  for (size_t i = 0; i < ids.size(); ++i)
    if (Status st = open_device(ids[i], &devices[i]); !st.ok()) return fail(st);
  const Device& device = devices[0];

  model::ModelOptions opts;
  opts.attention = args.attn == "naive" ? model::AttentionForm::kNaive : model::AttentionForm::kAbsorbed;
  const bool has_bf16 = (device.properties().gemm_dtypes & DSHAL_DTYPE_BIT(DSHAL_DTYPE_BF16)) != 0;
  opts.activations = args.dtype == "f32" || (args.dtype.empty() && !has_bf16) ? DSHAL_DTYPE_F32 : DSHAL_DTYPE_BF16;
  opts.max_seq = int64_t(prompt.size()) + args.max_new_tokens;
  opts.max_batch_tokens = args.max_batch_tokens;
  if (devices.size() > 1)
    for (const Device& d : devices) opts.expert_devices.push_back(&d);
  auto last_print = Clock::now() - std::chrono::seconds(1);
  opts.load_progress = [&](uint64_t done, uint64_t total) {
    const auto now = Clock::now();
    if (done < total && now - last_print < std::chrono::milliseconds(250)) return;
    last_print = now;
    std::fprintf(stderr, "\rloading weights: %.1f / %.1f MB", double(done) / 1e6, double(total) / 1e6);
    if (done >= total) std::fprintf(stderr, "\n");
  };

  const auto t_load = Clock::now();
  std::unique_ptr<model::Model> m;
  if (Status st = model::Model::load(args.model, device, opts, &m); !st.ok()) return fail(st);
  const double load_s = std::chrono::duration<double>(Clock::now() - t_load).count();

  const bool keep_logits = !args.logits_out.empty();
  const int64_t V = m->config().vocab_size;
  std::vector<float> all_logits, row;
  model::Sampler sampler({args.temperature, args.top_p, args.seed});
  std::vector<int32_t> generated;

  const auto t_prefill = Clock::now();
  if (Status st = m->forward(prompt, keep_logits, &row); !st.ok()) return fail(st);
  const double prefill_s = std::chrono::duration<double>(Clock::now() - t_prefill).count();
  all_logits.insert(all_logits.end(), row.begin(), row.end());
  generated.push_back(sampler.next(std::span<const float>(row).last(size_t(V))));

  const auto t_decode = Clock::now();
  for (int64_t i = 1; i < args.max_new_tokens; ++i) {
    const int32_t id = generated.back();
    if (Status st = m->forward(std::span<const int32_t>(&id, 1), false, &row); !st.ok()) return fail(st);
    if (keep_logits) all_logits.insert(all_logits.end(), row.begin(), row.end());
    generated.push_back(sampler.next(row));
  }
  const double decode_s = std::chrono::duration<double>(Clock::now() - t_decode).count();
  const int64_t decoded = args.max_new_tokens - 1;

  if (keep_logits) {
    const int64_t rows = int64_t(all_logits.size()) / V;
    if (Status st = model::write_npy_f32(args.logits_out, {rows, V}, all_logits.data()); !st.ok()) return fail(st);
  }
  const double prefill_tps = double(prompt.size()) / prefill_s;
  const double decode_tps = decoded > 0 ? double(decoded) / decode_s : 0.0;
  const auto [rss, hwm] = resident_bytes();
  const model::WeightStats& ws = m->weight_stats();
  // Weight bytes each device holds: the home device's dense part plus every device's experts.
  std::vector<std::pair<std::string, uint64_t>> per_device;
  const uint64_t home_bytes = ws.checkpoint_bytes + ws.dequantized_bytes;
  const std::vector<model::DeviceWeightStats> experts = m->expert_weight_stats();
  if (experts.empty()) per_device.push_back({device.id(), home_bytes});
  for (size_t i = 0; i < experts.size(); ++i)
    per_device.push_back({experts[i].device, (i == 0 ? home_bytes : 0) + experts[i].stats.checkpoint_bytes +
                                                 experts[i].stats.dequantized_bytes});
  if (args.json) {
    nlohmann::json j;
    j["model"] = args.model;
    j["device"] = device.id();  // the home device
    j["dtype"] = opts.activations == DSHAL_DTYPE_F32 ? "f32" : "bf16";
    j["attn"] = opts.attention == model::AttentionForm::kNaive ? "naive" : "absorb";
    j["prompt_ids"] = prompt;
    j["generated_ids"] = generated;
    j["load_seconds"] = load_s;
    j["prefill_tokens_per_s"] = prefill_tps;
    j["decode_tokens_per_s"] = decode_tps;
    // The home device's weights (under expert parallelism without the routed experts: see "devices").
    j["weights"] = {{"checkpoint_bytes", ws.checkpoint_bytes}, {"in_place_bytes", ws.in_place_bytes},
                    {"copied_bytes", ws.copied_bytes}, {"dequantized_bytes", ws.dequantized_bytes}};
    j["devices"] = nlohmann::json::array();
    for (size_t i = 0; i < per_device.size(); ++i) {
      nlohmann::json d = {{"id", per_device[i].first}, {"weight_bytes", per_device[i].second}};
      if (!experts.empty()) d["experts"] = {experts[i].first_expert, experts[i].first_expert + experts[i].expert_count};
      j["devices"].push_back(d);
    }
    j["resident_bytes"] = rss;
    j["peak_resident_bytes"] = hwm;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "generated ids:";
    for (int32_t id : generated) std::cout << " " << id;
    std::cout << fmt::format("\nprefill: {} tokens, {:.1f} tokens/s; decode: {} tokens, {:.2f} tokens/s\n",
                             prompt.size(), prefill_tps, decoded, decode_tps);
    std::cout << fmt::format("weights: {:.1f} MB ({:.1f} MB in place, {:.1f} MB copied); resident {:.1f} MB, peak {:.1f} MB\n",
                             double(ws.checkpoint_bytes) / 1e6, double(ws.in_place_bytes) / 1e6,
                             double(ws.copied_bytes) / 1e6, double(rss) / 1e6, double(hwm) / 1e6);
    if (!experts.empty()) {
      std::cout << "weights per device:";
      for (const auto& [id, bytes] : per_device) std::cout << fmt::format(" {} {:.1f} MB;", id, double(bytes) / 1e6);
      std::cout << "\n";
    }
  }
  return kOk;
}

}  // namespace

void add_run_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run", "Run a DeepSeek checkpoint: prefill a prompt and decode new tokens");
  cmd->add_option("--model", args->model, "Hugging Face checkpoint folder (config.json + safetensors)")->required();
  cmd->add_option("--device", args->device, "Device id, or a comma list to spread the routed experts over (default: DSHAL_DEVICE, else auto)");
  cmd->add_option("--prompt-ids", args->prompt_ids, "Prompt token ids, space separated")->required();
  cmd->add_option("--max-new-tokens", args->max_new_tokens, "Tokens to generate")->capture_default_str();
  cmd->add_option("--attn", args->attn, "MLA form")->check(CLI::IsMember({"naive", "absorb"}))->capture_default_str();
  cmd->add_option("--dtype", args->dtype, "Activations (default: bf16 where the device has it)")
      ->check(CLI::IsMember({"f32", "bf16"}));
  cmd->add_option("--seed", args->seed, "Sampling seed")->capture_default_str();
  cmd->add_option("--temperature", args->temperature, "0 is greedy")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--top-p", args->top_p, "Nucleus mass")->check(CLI::Range(0.0f, 1.0f))->capture_default_str();
  cmd->add_option("--max-batch-tokens", args->max_batch_tokens, "Prompt tokens per prefill chunk")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--logits-out", args->logits_out, "Write f32 logits [prompt + decoded, vocab] as .npy");
  cmd->add_flag("--json", args->json, "Machine-readable output");
  cmd->callback([args, exit_code] { *exit_code = run(*args); });
}

}  // namespace dshal::cli
