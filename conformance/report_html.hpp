// report.html: the porting report as one self-contained page (inline CSS and SVG, no script, no
// network), rendered from a report.json document of schema v1 or v2. Fields a report lacks are
// shown as absent; nothing in the document makes rendering throw.
#pragma once

#include <string>

#include <dshal/dshal.hpp>
#include <nlohmann/json.hpp>

namespace dshal::conformance {

// The page for `report` (a parsed report.json).
std::string render_html(const nlohmann::json& report);

// Writes render_html(report) to `path`; an unwritable path gives an error naming it.
Status write_html(const nlohmann::json& report, const std::string& path);

}  // namespace dshal::conformance
