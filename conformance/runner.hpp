// Runs the conformance suite on one device and writes the reports (`dshal conform`). Cases run in
// worker processes (isolation.hpp) so a crash or hang in one is recorded and the run goes on;
// vendor expectations (expectations.hpp) decide what a failure means.
#pragma once

#include <string>
#include <vector>

namespace dshal::conformance {

// Seconds a case may run before its worker is stopped (--timeout), and the largest value accepted:
// beyond it the deadline arithmetic on steady_clock would overflow.
constexpr double kDefaultCaseTimeout = 300;
constexpr double kMaxCaseTimeout = 1e6;

struct ConformOptions {
  std::string device;          // a resolved id: "cpu:0"
  std::string tier = "all";    // core | ops | model | perf | all
  std::string filter;          // glob over case ids, empty for all
  std::string report_dir;      // where report.json, report.md and junit.xml go
  std::string expectations;    // overrides the adapter manifest's expectations file
  double timeout_seconds = kDefaultCaseTimeout;  // per case (and per perf benchmark)
  std::string program;         // argv[0], for gtest
  // Worker mode (set by the parent only): the pipe for events, the fd holding the case list, and
  // whether to run the perf tier after the cases.
  int worker_fd = -1;
  int worker_cases_fd = -1;
  bool worker_perf = false;
};

// Returns 0 when no case fails the run, 1 otherwise; 2 when the options or the expectations file
// are unusable (the message is printed to stderr).
int run_conform(const ConformOptions& options);

// The worker side (worker.cpp): runs the cases named on worker_cases_fd, reporting on worker_fd.
int run_worker(const ConformOptions& options);

// The tiers a --tier value selects, in order (core, ops, model, perf); empty when it is not a tier.
std::vector<std::string> tiers_of(const std::string& tier);

}  // namespace dshal::conformance
