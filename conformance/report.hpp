// Conformance results and the report writers: report.json (stable schema, version 1), report.md
// and junit.xml.
#pragma once

#include <dshal/dshal.hpp>

#include <optional>
#include <string>
#include <vector>

namespace dshal::conformance {

struct CaseResult {
  std::string id;      // "core/Gemm.MatchesFp64Reference/f32_odd_nn"
  std::string tier;    // core | ops | model
  std::string status;  // passed | failed | skipped | xfail | xpass | crashed
  std::string message;
  std::optional<double> max_abs_err, nmse, tolerance, error_ratio;
  double seconds = 0;
};

struct Summary {
  int passed = 0, failed = 0, skipped = 0, xfail = 0, xpass = 0, crashed = 0;
};

struct Report {
  DeviceInfo device;
  uint32_t abi_version = 0;
  std::string tier;  // what was asked for
  std::string filter;
  Summary summary;
  std::vector<CaseResult> cases;
  std::vector<std::pair<std::string, uint64_t>> fallbacks;  // op name, calls
  std::string commit;
  std::string timestamp;  // ISO 8601, UTC
  double seconds = 0;
};

std::string dtype_list(uint32_t mask);  // "f32,f16,bf16"

// Each writes one file; an unwritable path gives an error naming it.
Status write_json(const Report& r, const std::string& path);
Status write_markdown(const Report& r, const std::string& path);
Status write_junit(const Report& r, const std::string& path);

}  // namespace dshal::conformance
