// The parent side of an isolated run: hands the cases to worker processes, one after another, and
// turns their events, crashes and timeouts into raw case results (passed, failed, skipped, crashed,
// timeout; expectations are applied afterwards).
#pragma once

#include <dshal/dshal.hpp>

#include <optional>
#include <string>
#include <vector>

#include "cases.hpp"
#include "report.hpp"
#include "runner.hpp"

namespace dshal::conformance {

struct WorkerPlan {
  std::vector<SelectedCase> cases;     // to run, in gtest's order
  bool perf = false;                   // run the perf tier after them
  std::vector<std::string> worker_args;  // the `dshal conform ...` arguments of a worker
  double timeout_seconds = kDefaultCaseTimeout;
};

struct WorkerOutcome {
  std::vector<CaseResult> results;  // one per plan case, same order
  std::vector<PerfResult> perf;
  std::optional<DeviceInfo> device;  // from the first worker that opened it
  // Set when a worker crashed or hung after its last case (closing the device, say): a failing
  // result of its own, kTeardownCaseId.
  std::optional<CaseResult> teardown;
  uint32_t abi_version = 0;
  std::string fatal;  // why the run could not go on (the device does not open, no worker starts)
};

// The id of the result recorded when a worker fails after its last case. Tier core: closing
// devices, streams and buffers is part of the mandatory slots.
inline constexpr const char* kTeardownCaseId = "core/Worker.ExitsCleanlyAfterItsCases";

// Runs the plan, printing one progress line per case and benchmark.
WorkerOutcome run_workers(const WorkerPlan& plan, const std::string& device_id);

}  // namespace dshal::conformance
