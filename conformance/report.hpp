// Conformance results and the report writers: report.json (schema version 2, the contract in
// the project notes: report-schema-v2), report.md and junit.xml.
#pragma once

#include <dshal/dshal.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dshal::conformance {

// Calls per op name ("gemm" -> 3); only ops with calls appear.
using OpCounts = std::map<std::string, uint64_t>;

// The expectations entry a case matched (expectations.hpp).
struct Expectation {
  std::string kind;  // unsupported | xfail
  std::string pattern;
  std::string reason;
};

// Every status a case can end with. The failing ones make `dshal conform` exit 1.
inline constexpr const char* kStatuses[] = {"passed", "failed", "claims-support-but-fails", "skipped", "unsupported",
                                            "xfail",  "xpass",  "crashed",                  "timeout"};
bool status_fails_run(const std::string& status);
// The status's key in report.json's summary: "claims-support-but-fails" -> "claims_support_but_fails".
std::string summary_key(const std::string& status);

struct CaseResult {
  std::string id;      // "core/Gemm.MatchesFp64Reference/f32_odd_nn"
  std::string tier;    // core | ops | model
  std::string status;  // one of kStatuses
  std::string message;
  std::optional<double> max_abs_err, nmse, tolerance, error_ratio;
  double seconds = 0;
  OpCounts native, fallback;  // calls during this case
  std::optional<Expectation> expectation;
  std::string signal;  // crashed: the signal; timeout: the signal that stopped it; else ""
  std::string repro;   // the command reproducing a failing case; else ""
};

struct Summary {
  std::map<std::string, int> counts;  // status -> cases
  int operator[](const std::string& status) const;
  int failing() const;  // cases whose status fails the run
  // "812 passed, 3 xfail, 1 crashed": every non-zero count, in kStatuses order.
  std::string line() const;
};

struct Environment {
  std::string suite_version, commit;
  uint32_t abi_version = DSHAL_ABI_VERSION;
  std::string os, host_cpu, compiler;
  AdapterInfo adapter;
};

// One step of the DeepSeek forward graph and the calls of its ops over the model-tier cases.
struct GraphStep {
  std::string step;
  struct Op {
    std::string op;
    uint64_t native = 0, fallback = 0;
  };
  std::vector<Op> ops;
};

struct PerfResult {
  std::string name, op, dtype;
  uint64_t m = 0, n = 0, k = 0;
  double flop = 0, wall_seconds = 0, gflops = 0;
  std::optional<double> device_seconds, device_gflops;
};

struct Report {
  DeviceInfo device;
  Environment environment;
  uint32_t abi_version = 0;  // the adapter's
  std::string tier;          // what was asked for
  std::string filter;
  double timeout_seconds = 0;
  std::string tier_reached = "none";
  Summary summary;
  std::vector<CaseResult> cases;
  OpCounts fallback_calls, native_calls;  // whole run (the cases)
  std::vector<GraphStep> graph;
  std::vector<PerfResult> perf;
  std::string commit;
  std::string timestamp;  // ISO 8601, UTC
  double seconds = 0;
};

std::string dtype_list(uint32_t mask);  // "f32,f16,bf16"

// A device's descriptive properties as JSON (name, vendor, driver version, memory and limits,
// compute units): the fields report.json, `dshal devices --json` and the worker protocol share.
// Each adds its own id and dtype fields.
nlohmann::json property_fields(const dshal_device_properties& p);

// The report.json document (schema version 2); report.html is rendered from it too.
nlohmann::json to_json(const Report& r);

// Each writes one file; an unwritable path gives an error naming it.
Status write_json(const Report& r, const std::string& path);
Status write_markdown(const Report& r, const std::string& path);
Status write_junit(const Report& r, const std::string& path);

// Shared by the writers: writes text to path, naming the path on failure.
Status write_report_file(const std::string& path, const std::string& text);

}  // namespace dshal::conformance
