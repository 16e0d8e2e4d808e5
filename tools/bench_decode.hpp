// `dshal bench --model`: prefill and decode speed of a checkpoint on a device, and decode against
// the memory-bandwidth bound (weight bytes per token at the host STREAM read bandwidth).
#pragma once

#include <dshal/dshal.hpp>
#include <nlohmann/json.hpp>

#include <string>

namespace dshal::cli {

struct DecodeBenchArgs {
  std::string model;
  int64_t prompt_len = 128;
  int64_t new_tokens = 64;
  std::string dtype = "bf16";
};

// Fills out with prefill/decode tokens/s, weight bytes per token and, given the STREAM read
// bandwidth measured in the same run, the decode bandwidth ratio.
Status bench_decode(const Device& device, const DecodeBenchArgs& args, double stream_read_gbps, nlohmann::json* out);

}  // namespace dshal::cli
