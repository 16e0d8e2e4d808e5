// Loading report.json files for `dshal report`: every problem (missing file, not JSON, wrong
// schema, a field of the wrong type) is a Status whose message names the file and the field.
#pragma once

#include <string>

#include <dshal/dshal.hpp>
#include <nlohmann/json.hpp>

namespace dshal::conformance {

// The report schema versions this build reads.
constexpr int kOldestReportSchema = 1, kNewestReportSchema = 2;

// Reads `path` into *out: it must exist, parse as JSON, be an object and have a schema_version
// this build reads (check_fields checks the rest).
Status load_report(const std::string& path, nlohmann::json* out);

// Every field the HTML page and `dshal report diff` read must have its documented type (schema v2,
// the same types in v1): device, environment (and its adapter) and summary objects; cases an array
// of objects with unique string ids, string statuses, numeric-or-null errors and times, string-or-null
// texts and an ops object of counts; native_calls and fallback_calls objects of numbers; fallbacks
// strings; tier_reached a string; graph steps and perf entries with their field types. Absent
// optional fields are fine (v1 reports lack the v2 ones). The error names the file and the field.
Status check_fields(const std::string& path, const nlohmann::json& report);

}  // namespace dshal::conformance
