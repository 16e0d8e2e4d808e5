// `dshal bench --model`: prefill and decode speed of a checkpoint on a device, and decode against
// the memory-bandwidth bound (weight bytes per token at the host STREAM read bandwidth); with
// several devices, decode speed as the routed experts spread over 1, 2, ... of them.
#pragma once

#include <dshal/dshal.hpp>
#include <nlohmann/json.hpp>

#include <span>
#include <string>

namespace dshal::cli {

struct DecodeBenchArgs {
  std::string model;
  int64_t prompt_len = 128;
  int64_t new_tokens = 64;
  std::string dtype = "bf16";
};

// Fills out with prefill/decode tokens/s, weight bytes per token and, given the STREAM read
// bandwidth measured in the same run, the decode bandwidth ratio. More than one device: the
// routed experts spread over them (expert parallelism), the rest on devices[0].
Status bench_decode(std::span<const Device> devices, const DecodeBenchArgs& args, double stream_read_gbps,
                    nlohmann::json* out);

// Decode on the first D devices for every D that divides the routed experts, in one run: fills out
// with one entry per D (its bench_decode figures and the ratio of its decode tokens/s to one
// device's, the peer).
Status bench_decode_by_devices(std::span<const Device> devices, const DecodeBenchArgs& args, double stream_read_gbps,
                               nlohmann::json* out);

// The "decode" (and "decode_by_devices") figures of a bench report, as text on stdout.
void print_decode(const nlohmann::json& bench);

}  // namespace dshal::cli
