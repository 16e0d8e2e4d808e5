// report.html chart sections: each case's error against its tolerance (log scale), and
// performance (GFLOP/s per benchmark, time per tier, slowest cases).
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "report_fields.hpp"
#include "report_html_sections.hpp"
#include "report_html_util.hpp"
#include "svg_chart.hpp"

namespace dshal::conformance::html {
namespace {

using fields::array;
using fields::member;
using fields::num;
using fields::str;
using fields::text;
using nlohmann::json;

constexpr size_t kSlowestCases = 15;

// Device GFLOP/s: the report's, or flop / device_seconds when only the time is there.
std::optional<double> device_gflops(const json& p) {
  if (auto g = num(p, "device_gflops")) return g;
  const auto flop = num(p, "flop"), t = num(p, "device_seconds");
  if (flop && t && *t > 0) return *flop / *t / 1e9;
  return std::nullopt;
}

// Green with at least 2x headroom, amber up to the tolerance, red beyond it (and for NaN).
const char* ratio_color(double ratio) { return !(ratio <= 1) ? "#c62828" : ratio > 0.5 ? "#e0a100" : "#2e7d32"; }

// A sort key that puts NaN (the runner may pass one straight from a case) above every number, so
// sorting stays a strict weak ordering and NaN errors list first.
double nan_as_worst(double v) { return std::isnan(v) ? std::numeric_limits<double>::infinity() : v; }

}  // namespace

std::string error_margin_section(const json& r) {
  std::vector<const json*> cases;
  for (const json& c : array(r, "cases"))
    if (num(c, "error_ratio")) cases.push_back(&c);
  if (cases.empty())
    return section("errors", "Error margin against tolerance",
                   "<p class=\"note\">No case in this report records an error ratio (error / tolerance).</p>\n");
  std::stable_sort(cases.begin(), cases.end(),
                   [](const json* a, const json* b) {
                     return nan_as_worst(*num(*a, "error_ratio")) > nan_as_worst(*num(*b, "error_ratio"));
                   });
  BarChart chart;
  chart.series = {{"error / tolerance", "#2e7d32"}};
  chart.log_scale = true;
  chart.reference = 1.0;
  chart.reference_label = "1.0 = at tolerance";
  chart.axis_label = "error / tolerance (log scale; below 1 passes the check)";
  std::string table =
      "<table><tr><th>case</th><th>status</th><th>max abs err</th><th>nmse</th><th>tolerance</th>"
      "<th>error / tol</th><th>headroom</th></tr>\n";
  for (const json* c : cases) {
    const double ratio = *num(*c, "error_ratio");
    const std::string id = text(*c, "id"), status = str(*c, "status");
    BarRow row;
    row.label = id;
    row.values = {ratio};
    row.colors = {ratio_color(ratio)};
    row.tooltip = fmt::format("{} ({}): max abs err {}, nmse {}, tolerance {}, error/tol {}", id, status,
                              num_text(num(*c, "max_abs_err")), num_text(num(*c, "nmse")),
                              num_text(num(*c, "tolerance")), num_text(ratio));
    chart.rows.push_back(row);
    table += fmt::format(
        "<tr><td class=\"id\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\" style=\"color:{}\"><b>{}</b></td><td class=\"num\">{}</td></tr>\n",
        esc(id), status_badge(status), esc(num_text(num(*c, "max_abs_err"))), esc(num_text(num(*c, "nmse"))),
        esc(num_text(num(*c, "tolerance"))), ratio_color(ratio), esc(num_text(ratio)),
        ratio > 0 ? esc(fmt::format("{}×", num_text(1 / ratio))) : ratio == 0 ? "exact" : "—");
  }
  table += "</table>\n";
  std::string s = fmt::format(
      "<p>{} cases compare against a reference with a tolerance; sorted by error / tolerance, worst first. "
      "<span style=\"color:#2e7d32\">■</span> at least 2× headroom, <span style=\"color:#e0a100\">■</span> within "
      "the tolerance, <span style=\"color:#c62828\">■</span> beyond it.</p>\n",
      cases.size());
  s += render_bar_chart(chart);
  s += fmt::format("<details><summary>Table of the {} cases</summary>\n{}</details>\n", cases.size(), table);
  return section("errors", "Error margin against tolerance", s);
}

std::string perf_section(const json& r) {
  std::string s;
  const json& perf = member(r, "perf");
  if (!perf.is_array()) {
    s += "<p class=\"note\">This report has no performance data (schema v1).</p>\n";
  } else if (perf.empty()) {
    s += "<p class=\"note\">No performance case ran in this run.</p>\n";
  } else {
    bool any_device = false;
    for (const json& p : perf) any_device = any_device || device_gflops(p).has_value();
    BarChart chart;
    chart.series = {{"measured (wall clock)", "#1565c0"}};
    if (any_device) chart.series.push_back({"device GFLOP/s, from device time (measured, or projected by a simulator's cost model)", "#8e24aa"});
    chart.axis_label = "GFLOP/s";
    std::string table =
        "<table><tr><th>benchmark</th><th>op</th><th>dtype</th><th>m</th><th>n</th><th>k</th><th>GFLOP</th>"
        "<th>wall s</th><th>device s</th><th>GFLOP/s</th><th>device GFLOP/s</th></tr>\n";
    for (const json& p : perf) {
      BarRow row;
      row.label = text(p, "name", "(unnamed)");
      row.values = {num(p, "gflops")};
      if (any_device) row.values.push_back(device_gflops(p));
      chart.rows.push_back(row);
      const auto flop = num(p, "flop");
      table += fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
          "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
          "<td class=\"num\">{}</td></tr>\n",
          esc(row.label), esc(text(p, "op")), esc(text(p, "dtype")), esc(text(p, "m")), esc(text(p, "n")),
          esc(text(p, "k")), esc(num_text(flop ? std::optional<double>(*flop / 1e9) : std::nullopt)),
          esc(num_text(num(p, "wall_seconds"))), esc(num_text(num(p, "device_seconds"))),
          esc(num_text(num(p, "gflops"))), esc(num_text(device_gflops(p))));
    }
    table += "</table>\n";
    // Simulated devices project throughput orders of magnitude above the host's wall clock: a
    // linear axis would flatten the measured bars, so wide ranges get a log axis.
    double lo = 0, hi = 0;
    for (const BarRow& row : chart.rows)
      for (const auto& v : row.values)
        if (v && *v > 0) lo = lo == 0 ? *v : std::min(lo, *v), hi = std::max(hi, *v);
    chart.log_scale = lo > 0 && hi / lo > 100;
    if (chart.log_scale) chart.axis_label = "GFLOP/s (log scale)";
    s += "<h3>Throughput</h3>\n" + render_bar_chart(chart) + table;
  }

  // Time per tier, and the slowest cases.
  std::map<std::string, std::pair<double, int>> per_tier;
  std::vector<const json*> timed;
  for (const json& c : array(r, "cases")) {
    std::string tier = str(c, "tier");
    if (tier.empty()) tier = "(no tier)";
    per_tier[tier].first += num(c, "seconds").value_or(0);
    ++per_tier[tier].second;
    if (num(c, "seconds")) timed.push_back(&c);
  }
  if (!per_tier.empty()) {
    BarChart tiers;
    tiers.series = {{"seconds", "#00838f"}};
    tiers.axis_label = "seconds (sum over the tier's cases)";
    tiers.value_suffix = " s";
    std::vector<std::string> order = fields::tier_order();
    for (const auto& [tier, v] : per_tier)
      if (std::find(order.begin(), order.end(), tier) == order.end()) order.push_back(tier);
    for (const std::string& tier : order) {
      const auto it = per_tier.find(tier);
      if (it == per_tier.end()) continue;
      BarRow row;
      row.label = fmt::format("{} ({} cases)", tier, it->second.second);
      row.values = {it->second.first};
      tiers.rows.push_back(row);
    }
    s += "<h3>Case time per tier</h3>\n" + render_bar_chart(tiers);
  }
  if (!timed.empty()) {
    std::stable_sort(timed.begin(), timed.end(),
                     [](const json* a, const json* b) { return nan_as_worst(*num(*a, "seconds")) > nan_as_worst(*num(*b, "seconds")); });
    if (timed.size() > kSlowestCases) timed.resize(kSlowestCases);
    BarChart slow;
    slow.series = {{"seconds", "#00838f"}};
    slow.axis_label = "seconds";
    slow.value_suffix = " s";
    for (const json* c : timed) {
      BarRow row;
      row.label = text(*c, "id");
      row.values = {num(*c, "seconds")};
      row.colors = {status_color(str(*c, "status"))};
      row.tooltip = row.label + " (" + str(*c, "status") + ")";
      slow.rows.push_back(row);
    }
    s += fmt::format("<h3>Slowest {} cases</h3>\n", timed.size()) + render_bar_chart(slow);
  }
  return section("perf", "Performance", s);
}

}  // namespace dshal::conformance::html
