// The perf tier: a few DeepSeek-shaped GEMMs in the device's best native input type, timed on the
// wall clock and, when the adapter reports it, by device time. Measured, never pass/fail.
#pragma once

#include <functional>
#include <string>

#include "report.hpp"

namespace dshal::conformance {

// Runs each benchmark on device id (opened through the harness); on_start names one before it
// runs, then on_result gets its figures or, when its GEMM fails, on_failure the error (and the
// benchmark is left out of the report).
void run_perf(const std::string& id, const std::function<void(const std::string&)>& on_start,
              const std::function<void(const PerfResult&)>& on_result,
              const std::function<void(const std::string&)>& on_failure);

}  // namespace dshal::conformance
