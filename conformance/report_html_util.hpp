// Small pieces the report.html sections share: escaping, number formatting and the colour scheme
// (one colour per case status, one per way an op ran).
#pragma once

#include <optional>
#include <string>

#include "report_fields.hpp"

namespace dshal::conformance::html {

// Escapes &, <, >, " and ' so the result is safe as element text and as a quoted attribute value;
// control characters other than newline and tab become spaces.
std::string esc(const std::string& s);

// "1.23e-05", "0.5", "—" for nullopt.
std::string num_text(const std::optional<double>& v, int significant = 3);
std::string bytes(const std::optional<double>& v);    // "15.6 GiB (16777216000 B)"
std::string seconds(const std::optional<double>& v);  // "0.120 s", "2 min 5 s"

// Colours (CSS hex) for a case status and for an op mode; unknown statuses are grey.
const char* status_color(const std::string& status);
const char* mode_color(fields::OpMode m);       // saturated, for borders, chips and bars
const char* mode_tint(fields::OpMode m);        // light, for cell backgrounds

// <span class="badge" style="background:COLOR">STATUS</span>, escaped.
std::string status_badge(const std::string& status);

// One section: <section id=ID><h2>TITLE</h2>BODY</section>.
std::string section(const std::string& id, const std::string& title, const std::string& body);

}  // namespace dshal::conformance::html
