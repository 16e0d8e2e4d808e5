// `dshal report diff`: what changed between two report.json documents (v1 or v2), as a JSON
// document (for --json) and as text for a terminal.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace dshal::conformance {

struct DiffOptions {
  // A passing case's error_ratio change is listed when new/old (or old/new) exceeds this. Ratios
  // below kRatioFloor count as kRatioFloor: that far under the tolerance, changes are noise.
  double ratio_factor = 2.0;
};
constexpr double kRatioFloor = 1e-6;

// Both documents must have passed check_fields(). The result has:
//   regressions, fixes, other_status_changes: [{id, from, to, message}] — a regression is a case
//     whose status now fails the run and did not (from = null for a case new in NEW); a fix, one
//     whose status failed and no longer does (from NEW's point of view); sorted by id.
//   added, removed: [{id, status}];  tier_reached: {from, to} | null;
//   summary: {status: {from, to}} for counts that differ;
//   error_ratio_changes: [{id, from, to, factor}] for cases passed in both, worst growth first;
//   fallback_changes: [{op, from, to}] with from/to "native", "fallback", "native + fallback",
//     "not run" (or "no fallback" for a v1 report, which has no native counts);
//   perf: [{name, gflops_from, gflops_to, gflops_ratio, device_gflops_from, device_gflops_to,
//     device_gflops_ratio}] for benchmarks in both whose numbers differ; perf_added, perf_removed: [name];
//   has_regressions: bool.
nlohmann::json diff_reports(const nlohmann::json& old_report, const nlohmann::json& new_report,
                            const DiffOptions& options);

// The diff for a terminal: regressions first, then fixes and the rest; empty groups are left out.
std::string diff_text(const nlohmann::json& diff, const std::string& old_path, const std::string& new_path);

}  // namespace dshal::conformance
