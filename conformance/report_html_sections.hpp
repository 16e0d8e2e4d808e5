// The sections of report.html, each rendered from the whole report.json document (internal to
// report_html*.cpp).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace dshal::conformance::html {

std::string op_matrix_section(const nlohmann::json& report);    // op x dtype, and whole-run op calls
std::string graph_section(const nlohmann::json& report);        // the DeepSeek graph's fallback map
std::string error_margin_section(const nlohmann::json& report); // error / tolerance per case
std::string perf_section(const nlohmann::json& report);         // GFLOP/s and time per tier
std::string failures_section(const nlohmann::json& report);     // failing cases with their repro commands
std::string case_table_section(const nlohmann::json& report);   // every case

}  // namespace dshal::conformance::html
