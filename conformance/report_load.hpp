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
// this build reads. Enough for the HTML page, which renders whatever else is there.
Status load_report(const std::string& path, nlohmann::json* out);

// The fields `dshal report diff` compares must have their documented types: cases (an array of
// objects with unique string ids and string statuses; error_ratio a number or null), summary,
// native_calls and fallback_calls (objects of numbers), fallbacks (strings), tier_reached (a
// string) and perf (objects with a string name and numeric or null gflops / device_gflops).
// Absent optional fields are fine (v1 reports lack the v2 ones).
Status check_diffable(const std::string& path, const nlohmann::json& report);

}  // namespace dshal::conformance
