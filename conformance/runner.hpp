// Runs the conformance suite on one device and writes the reports (`dshal conform`).
#pragma once

#include <string>

namespace dshal::conformance {

struct ConformOptions {
  std::string device;      // a resolved id: "cpu:0"
  std::string tier = "all";  // core | ops | model | all
  std::string filter;      // glob over case ids, empty for all
  std::string report_dir;  // where report.json, report.md and junit.xml go
  std::string program;     // argv[0], for gtest
};

// Returns 0 when no case failed, 1 otherwise; 2 when the options are unusable (the message is
// printed to stderr).
int run_conform(const ConformOptions& options);

// The tiers a --tier value selects, as gtest name prefixes; empty when the value is not a tier.
std::string tier_prefixes(const std::string& tier);

}  // namespace dshal::conformance
