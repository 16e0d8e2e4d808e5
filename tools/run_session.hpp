// `dshal run`'s arguments and what its single-process and MPI forms share: the prompt, the model
// options, the generation loop and the report.
#pragma once

#include <dshal/dshal.hpp>

#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/model.hpp"

namespace dshal::cli {

struct RunArgs {
  std::string model, device, prompt_ids, attn = "absorb", dtype, logits_out, ep = "devices";
  int64_t max_new_tokens = 16, max_batch_tokens = 128;
  uint64_t seed = 0;
  float temperature = 0.0f, top_p = 1.0f;
  bool json = false;
};

// The prompt ids and --max-new-tokens, checked; false after printing to err what is wrong.
bool parse_prompt(const RunArgs& args, std::ostream& err, std::vector<int32_t>* prompt);

// Prints "dshal run: <message>" and returns the exit code: kUsage for bad input, else kFailed.
int fail(const Status& st);

// Activations, attention form, sequence and chunk lengths from the arguments; load progress on
// stderr when `progress`.
model::ModelOptions model_options(const RunArgs& args, const Device& device, size_t prompt_len, bool progress);

// VmRSS and VmHWM of this process, in bytes.
std::pair<uint64_t, uint64_t> resident_bytes();

struct Generation {
  std::vector<int32_t> ids;
  std::vector<float> logits;  // every row when --logits-out is given
  double prefill_s = 0, decode_s = 0;
};

// Prefill, then decode until --max-new-tokens ids; writes --logits-out.
Status generate(model::Model& m, const RunArgs& args, std::span<const int32_t> prompt, Generation* out);

// Who holds which weights: a device of this process, or a rank.
struct WeightHolder {
  std::string id;
  uint64_t weight_bytes = 0;
  int64_t first_expert = -1, end_expert = -1;  // -1: every expert (no expert parallelism)
  int rank = -1;                               // MPI rank, -1 in one process
  uint64_t resident_bytes = 0, peak_resident_bytes = 0;  // of the rank's process
};

// The holders of a model in this process: the home device, or under expert parallelism every device.
std::vector<WeightHolder> local_holders(const model::Model& m, const Device& home);

// The ids and speeds, as text or --json. expert_exchange, under --ep mpi: how rows crossed the
// processes ("device": the adapter's own transport; "mpi-staged": through host memory and MPI).
void print_report(const RunArgs& args, const model::Model& m, const Device& home, std::span<const int32_t> prompt,
                  const Generation& g, double load_s, const std::vector<WeightHolder>& holders,
                  std::string_view expert_exchange = {});

}  // namespace dshal::cli
