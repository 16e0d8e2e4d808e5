// What a worker process tells the parent of `dshal conform`: one JSON object per line on a pipe
// the parent gives it (never stdout, where adapters may print). Events, in order:
//   {"event":"hello","device":{properties},"abi_version":1}   or {"event":"hello","error":"..."}
//   {"event":"start","name":gtest name}                      a case begins
//   {"event":"end","name":..., "status":"passed"|"failed"|"skipped", "message", "max_abs_err",
//    "nmse", "tolerance", "error_ratio" (number or null), "seconds", "native":{op:calls},
//    "fallback":{op:calls}}                                  the case's result and its calls
//   {"event":"perf_start","name":...} / {"event":"perf", PerfResult fields} / {"event":"perf_done"}
// A case with a start but no end when the pipe closes crashed (or was stopped by the parent).
#pragma once

#include <dshal/dshal.hpp>

#include <array>
#include <string>

#include <nlohmann/json.hpp>

#include "report.hpp"

namespace dshal::conformance {

// Writes events to the pipe, each line in one write so a crash right after loses nothing written.
class EventWriter {
 public:
  explicit EventWriter(int fd) : fd_(fd) {}
  void send(const nlohmann::json& event) const;

 private:
  int fd_;
};

nlohmann::json properties_to_json(const dshal_device_properties& p);
dshal_device_properties properties_from_json(const nlohmann::json& j);

// after - before per op, as {"gemm": 3}; ops without calls are left out.
nlohmann::json op_delta(const std::array<uint64_t, DSHAL_OP_COUNT>& before,
                        const std::array<uint64_t, DSHAL_OP_COUNT>& after);
OpCounts op_counts_from_json(const nlohmann::json& j);

nlohmann::json perf_to_json(const PerfResult& p);
PerfResult perf_from_json(const nlohmann::json& j);

}  // namespace dshal::conformance
