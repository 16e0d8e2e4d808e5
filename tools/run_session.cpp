// run_session.hpp: prompt parsing, model options, the generation loop and the report of `dshal run`.
#include "run_session.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "model/npy.hpp"
#include "model/sampler.hpp"

namespace dshal::cli {

using Clock = std::chrono::steady_clock;

bool parse_prompt(const RunArgs& args, std::ostream& err, std::vector<int32_t>* ids) {
  std::istringstream in(args.prompt_ids);
  std::string word;
  while (in >> word) {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(word.c_str(), &end, 10);
    if (*end != '\0' || errno != 0 || v < 0 || v > INT32_MAX) {
      err << "dshal run: --prompt-ids: '" << word << "' is not a token id (a non-negative integer)\n";
      return false;
    }
    ids->push_back(int32_t(v));
  }
  if (ids->empty()) {
    err << "dshal run: --prompt-ids is empty\n";
    return false;
  }
  if (args.max_new_tokens < 1) {
    err << "dshal run: --max-new-tokens = " << args.max_new_tokens << " must be at least 1\n";
    return false;
  }
  return true;
}

int fail(const Status& st) {
  std::cerr << "dshal run: " << st.message() << "\n";
  const bool bad_input = st.code() == DSHAL_ERROR_INVALID_ARGUMENT || st.code() == DSHAL_ERROR_NOT_FOUND;
  return bad_input ? kUsage : kFailed;
}

model::ModelOptions model_options(const RunArgs& args, const Device& device, size_t prompt_len, bool progress) {
  model::ModelOptions opts;
  opts.attention = args.attn == "naive" ? model::AttentionForm::kNaive : model::AttentionForm::kAbsorbed;
  const bool has_bf16 = (device.properties().gemm_dtypes & DSHAL_DTYPE_BIT(DSHAL_DTYPE_BF16)) != 0;
  opts.activations = args.dtype == "f32" || (args.dtype.empty() && !has_bf16) ? DSHAL_DTYPE_F32 : DSHAL_DTYPE_BF16;
  opts.max_seq = int64_t(prompt_len) + args.max_new_tokens;
  opts.max_batch_tokens = args.max_batch_tokens;
  if (progress) {
    auto last_print = std::make_shared<Clock::time_point>(Clock::now() - std::chrono::seconds(1));
    opts.load_progress = [last_print](uint64_t done, uint64_t total) {
      const auto now = Clock::now();
      if (done < total && now - *last_print < std::chrono::milliseconds(250)) return;
      *last_print = now;
      std::fprintf(stderr, "\rloading weights: %.1f / %.1f MB", double(done) / 1e6, double(total) / 1e6);
      if (done >= total) std::fprintf(stderr, "\n");
    };
  }
  return opts;
}

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

Status generate(model::Model& m, const RunArgs& args, std::span<const int32_t> prompt, Generation* out) {
  const bool keep_logits = !args.logits_out.empty();
  const int64_t V = m.config().vocab_size;
  std::vector<float> row;
  model::Sampler sampler({args.temperature, args.top_p, args.seed});

  const auto t_prefill = Clock::now();
  DSHAL_RETURN_IF_ERROR(m.forward(prompt, keep_logits, &row));
  out->prefill_s = std::chrono::duration<double>(Clock::now() - t_prefill).count();
  out->logits.insert(out->logits.end(), row.begin(), row.end());
  out->ids.push_back(sampler.next(std::span<const float>(row).last(size_t(V))));

  const auto t_decode = Clock::now();
  for (int64_t i = 1; i < args.max_new_tokens; ++i) {
    const int32_t id = out->ids.back();
    DSHAL_RETURN_IF_ERROR(m.forward(std::span<const int32_t>(&id, 1), false, &row));
    if (keep_logits) out->logits.insert(out->logits.end(), row.begin(), row.end());
    out->ids.push_back(sampler.next(row));
  }
  out->decode_s = std::chrono::duration<double>(Clock::now() - t_decode).count();
  if (!keep_logits) return Status();
  const int64_t rows = int64_t(out->logits.size()) / V;
  return model::write_npy_f32(args.logits_out, {rows, V}, out->logits.data());
}

std::vector<WeightHolder> local_holders(const model::Model& m, const Device& home) {
  const model::WeightStats& ws = m.weight_stats();
  const uint64_t home_bytes = ws.checkpoint_bytes + ws.dequantized_bytes;
  const std::vector<model::DeviceWeightStats> experts = m.expert_weight_stats();
  if (experts.empty()) return {{home.id(), home_bytes}};
  std::vector<WeightHolder> out;
  for (size_t i = 0; i < experts.size(); ++i) {
    const model::DeviceWeightStats& e = experts[i];
    out.push_back({e.device, (i == 0 ? home_bytes : 0) + e.stats.checkpoint_bytes + e.stats.dequantized_bytes,
                   e.first_expert, e.first_expert + e.expert_count});
  }
  return out;
}

void print_report(const RunArgs& args, const model::Model& m, const Device& home, std::span<const int32_t> prompt,
                  const Generation& g, double load_s, const std::vector<WeightHolder>& holders,
                  std::string_view expert_exchange) {
  const double prefill_tps = double(prompt.size()) / g.prefill_s;
  const int64_t decoded = args.max_new_tokens - 1;
  const double decode_tps = decoded > 0 ? double(decoded) / g.decode_s : 0.0;
  const auto [rss, hwm] = resident_bytes();
  const model::WeightStats& ws = m.weight_stats();
  const bool split = holders.size() > 1;
  if (args.json) {
    nlohmann::json j;
    j["model"] = args.model;
    j["device"] = home.id();  // the home device
    j["dtype"] = m.options().activations == DSHAL_DTYPE_F32 ? "f32" : "bf16";
    j["attn"] = m.options().attention == model::AttentionForm::kNaive ? "naive" : "absorb";
    j["prompt_ids"] = std::vector<int32_t>(prompt.begin(), prompt.end());
    j["generated_ids"] = g.ids;
    j["load_seconds"] = load_s;
    j["prefill_tokens_per_s"] = prefill_tps;
    j["decode_tokens_per_s"] = decode_tps;
    // The home device's weights (under expert parallelism without the routed experts: see "devices").
    j["weights"] = {{"checkpoint_bytes", ws.checkpoint_bytes}, {"in_place_bytes", ws.in_place_bytes},
                    {"copied_bytes", ws.copied_bytes}, {"dequantized_bytes", ws.dequantized_bytes}};
    j["devices"] = nlohmann::json::array();
    for (const WeightHolder& h : holders) {
      nlohmann::json d = {{"id", h.id}, {"weight_bytes", h.weight_bytes}};
      if (h.first_expert >= 0) d["experts"] = {h.first_expert, h.end_expert};
      if (h.rank >= 0) {
        d["rank"] = h.rank;
        d["resident_bytes"] = h.resident_bytes;
        d["peak_resident_bytes"] = h.peak_resident_bytes;
      }
      j["devices"].push_back(d);
    }
    if (!expert_exchange.empty()) j["expert_exchange"] = expert_exchange;
    j["resident_bytes"] = rss;
    j["peak_resident_bytes"] = hwm;
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << "generated ids:";
  for (int32_t id : g.ids) std::cout << " " << id;
  std::cout << fmt::format("\nprefill: {} tokens, {:.1f} tokens/s; decode: {} tokens, {:.2f} tokens/s\n", prompt.size(),
                           prefill_tps, decoded, decode_tps);
  std::cout << fmt::format("weights: {:.1f} MB ({:.1f} MB in place, {:.1f} MB copied); resident {:.1f} MB, peak {:.1f} MB\n",
                           double(ws.checkpoint_bytes) / 1e6, double(ws.in_place_bytes) / 1e6,
                           double(ws.copied_bytes) / 1e6, double(rss) / 1e6, double(hwm) / 1e6);
  if (!split) return;
  std::cout << "weights per " << (holders[0].rank >= 0 ? "rank" : "device") << ":";
  for (const WeightHolder& h : holders) {
    std::cout << fmt::format(" {} {:.1f} MB", h.id, double(h.weight_bytes) / 1e6);
    if (h.rank >= 0) std::cout << fmt::format(" (resident {:.1f} MB)", double(h.resident_bytes) / 1e6);
    std::cout << ";";
  }
  std::cout << "\n";
  if (!expert_exchange.empty()) std::cout << "expert exchange: " << expert_exchange << "\n";
}

}  // namespace dshal::cli
