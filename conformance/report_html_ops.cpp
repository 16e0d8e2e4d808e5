// report.html sections about ops: the op x dtype matrix (from each case's native/fallback call
// counts), the whole run's calls per op, and the DeepSeek graph's fallback map.
#include <algorithm>
#include <array>
#include <map>
#include <set>

#include <fmt/format.h>

#include "report.hpp"
#include "report_fields.hpp"
#include "report_html_sections.hpp"
#include "report_html_util.hpp"

namespace dshal::conformance::html {
namespace {

using fields::array;
using fields::member;
using fields::OpMode;
using fields::str;
using fields::text;
using nlohmann::json;

// Ops in the order of a DeepSeek layer (then anything else alphabetically), so rows read naturally.
std::vector<std::string> ordered_ops(const std::set<std::string>& ops) {
  static const std::vector<std::string> preferred = {
      "embedding",   "rms_norm",      "gemm",        "gemm_quant", "prepack_weight", "rope",
      "attention",   "softmax",       "moe_route",   "moe_permute", "grouped_gemm",  "silu_mul",
      "moe_unpermute", "elementwise", "all_to_all",  "import_host_memory"};
  std::vector<std::string> out;
  for (const std::string& op : preferred)
    if (ops.count(op)) out.push_back(op);
  for (const std::string& op : ops)
    if (std::find(out.begin(), out.end(), op) == out.end()) out.push_back(op);
  return out;
}

std::string legend_modes() {
  std::string s = "<div class=\"legend\">";
  for (OpMode m : {OpMode::kNative, OpMode::kFallback, OpMode::kMixed, OpMode::kNotRun})
    s += fmt::format("<span><span class=\"sw\" style=\"background:{}\"></span>{}</span>", mode_tint(m),
                     fields::op_mode_name(m));
  return s + "</div>\n";
}

std::string mode_chip(OpMode m) {
  return fmt::format("<span class=\"badge\" style=\"background:{}\">{}</span>", mode_color(m), fields::op_mode_name(m));
}

struct Cell {
  int total = 0, passed = 0, failing = 0;
  double native = 0, fallback = 0;
};

std::string matrix(const json& r) {
  static const std::string kOther = "other";
  std::vector<std::string> columns = fields::matrix_dtypes();
  columns.push_back(kOther);
  std::map<std::string, std::map<std::string, Cell>> cells;  // op -> dtype -> cell
  std::set<std::string> ops;
  for (const json& c : array(r, "cases")) {
    const auto native = fields::counts(member(c, "ops"), "native");
    const auto fallback = fields::counts(member(c, "ops"), "fallback");
    std::set<std::string> case_ops;
    for (const auto& [op, n] : native) case_ops.insert(op);
    for (const auto& [op, n] : fallback) case_ops.insert(op);
    std::vector<std::string> dtypes = fields::dtypes_in_id(str(c, "id"));
    if (dtypes.empty()) dtypes.push_back(kOther);
    const std::string status = str(c, "status");
    for (const std::string& op : case_ops) {
      ops.insert(op);
      for (const std::string& d : dtypes) {
        Cell& cell = cells[op][d];
        ++cell.total;
        cell.passed += status == "passed";
        cell.failing += status_fails_run(status);
        cell.native += native.count(op) ? native.at(op) : 0;
        cell.fallback += fallback.count(op) ? fallback.at(op) : 0;
      }
    }
  }
  if (array(r, "cases").empty()) return "<p class=\"note\">The report has no cases.</p>\n";
  if (ops.empty())
    return "<p class=\"note\">No case in this report records the ops it called (the per-case \"ops\" field is "
           "schema v2), so the matrix is empty. The whole run's calls are below.</p>\n";

  std::string s = "<table class=\"matrix\"><tr><th>op \\ dtype</th>";
  for (const std::string& d : columns) s += "<th>" + esc(d) + "</th>";
  s += "</tr>\n";
  for (const std::string& op : ordered_ops(ops)) {
    s += "<tr><td class=\"op\">" + esc(op) + "</td>";
    for (const std::string& d : columns) {
      const auto it = cells[op].find(d);
      if (it == cells[op].end()) {
        s += "<td style=\"background:#fafafa;color:#bbb\">·</td>";
        continue;
      }
      const Cell& cell = it->second;
      const OpMode m = fields::op_mode(cell.native, cell.fallback);
      const std::string tip = fmt::format("{} {}: {} of {} cases passed, {} failing; {:.0f} native and {:.0f} fallback calls",
                                          op, d, cell.passed, cell.total, cell.failing, cell.native, cell.fallback);
      s += fmt::format("<td title=\"{}\" style=\"background:{};{}\"><span class=\"cnt\">{}/{}</span>"
                       "<span class=\"mode\" style=\"color:{}\">{}</span>{}</td>",
                       esc(tip), mode_tint(m), cell.failing ? "outline:3px solid #c62828;outline-offset:-3px" : "",
                       cell.passed, cell.total, mode_color(m), fields::op_mode_name(m),
                       cell.failing ? fmt::format("<span class=\"bad\">{} failing</span>", cell.failing) : "");
    }
    s += "</tr>\n";
  }
  s += "</table>\n";
  s += legend_modes();
  s += "<p>Each cell: cases passed / cases that called the op, with that type in their id, and how the op ran "
       "in them (colour). A red outline marks a cell with a failing case. Rows: every op a case called, from its "
       "native and fallback counts. Columns: the case id is split into tokens at every character that is not a "
       "letter or digit and at each lower-case-to-upper-case step (<code>Prepack.GemmQuantFp8</code> → prepack, "
       "gemm, quant, fp8); a token equal to f32, f16, bf16, fp8 or int4 puts the case in that column (a case "
       "naming two types, such as <code>f32_to_bf16</code>, counts in both); a case naming none is in "
       "<i>other</i>.</p>\n";
  return s;
}

std::string run_calls(const json& r) {
  const auto native = fields::counts(r, "native_calls");
  const auto fallback = fields::counts(r, "fallback_calls");
  std::set<std::string> ops, listed_without_count;  // "fallbacks" may name an op fallback_calls lacks
  for (const json& op : array(r, "fallbacks"))
    if (op.is_string() && !fallback.count(op.get<std::string>())) listed_without_count.insert(op.get<std::string>());
  ops = listed_without_count;
  for (const auto& [op, n] : native) ops.insert(op);
  for (const auto& [op, n] : fallback) ops.insert(op);
  std::string s = "<h3>Whole run: calls per op</h3>\n";
  if (!member(r, "native_calls").is_object())
    s += "<p class=\"note\">Native call counts are not in this report (schema v1); only fallbacks are.</p>\n";
  if (ops.empty()) return s + "<p>The run recorded no op calls.</p>\n";
  s += "<table><tr><th>op</th><th>native calls</th><th>fallback calls</th><th>ran</th></tr>\n";
  for (const std::string& op : ordered_ops(ops)) {
    const double n = native.count(op) ? native.at(op) : 0, f = fallback.count(op) ? fallback.at(op) : 0;
    const bool uncounted = listed_without_count.count(op) > 0;
    s += fmt::format("<tr><td><code>{}</code></td><td class=\"num\">{:.0f}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
                     esc(op), n, uncounted ? "listed, no count" : fmt::format("{:.0f}", f),
                     mode_chip(fields::op_mode(n, uncounted ? 1 : f)));
  }
  return s + "</table>\n";
}

// A step's colour: not run when none of its ops ran, native or fallback when all that ran did so,
// mixed otherwise.
OpMode step_mode(const std::vector<OpMode>& modes) {
  std::set<OpMode> ran;
  for (OpMode m : modes)
    if (m != OpMode::kNotRun) ran.insert(m);
  if (ran.empty()) return OpMode::kNotRun;
  return ran.size() == 1 ? *ran.begin() : OpMode::kMixed;
}

}  // namespace

std::string op_matrix_section(const json& r) {
  return section("matrix", "Op × dtype matrix", matrix(r) + run_calls(r));
}

std::string graph_section(const json& r) {
  const json& graph = member(r, "graph");
  if (!graph.is_array())
    return section("graph", "DeepSeek graph: fallback map",
                   "<p class=\"note\">This report has no graph (schema v1).</p>\n");
  if (graph.empty())
    return section("graph", "DeepSeek graph: fallback map",
                   "<p class=\"note\">No model-tier case ran, so the graph's ops were not exercised.</p>\n");
  std::string s = "<div class=\"flow\">\n";
  bool first = true;
  for (const json& step : graph) {
    std::vector<OpMode> modes;
    std::string chips;
    for (const json& op : array(step, "ops")) {
      const double n = fields::num(op, "native").value_or(0), f = fields::num(op, "fallback").value_or(0);
      const OpMode m = fields::op_mode(n, f);
      modes.push_back(m);
      chips += fmt::format("<span class=\"chip\" style=\"background:{}\" title=\"{}\">{} <small>{:.0f} native · "
                           "{:.0f} fallback</small></span>",
                           mode_color(m), esc(fields::op_mode_name(m)), esc(text(op, "op", "?")), n, f);
    }
    const OpMode m = step_mode(modes);
    if (!first) s += "<div class=\"arrow\">→</div>\n";
    first = false;
    s += fmt::format("<div class=\"step\" style=\"border-color:{};background:{}\"><div class=\"name\">{}</div>{}</div>\n",
                     mode_color(m), mode_tint(m), esc(text(step, "step", "(unnamed step)")), chips);
  }
  s += "</div>\n";
  s += legend_modes();
  s += "<p>The steps of the DeepSeek forward pass in order, with the calls of each op summed over the model-tier "
       "cases. A step is green when every op in it that ran ran natively, orange when every one fell back to the "
       "host, yellow when both happened, grey when none ran.</p>\n";
  return section("graph", "DeepSeek graph: fallback map", s);
}

}  // namespace dshal::conformance::html
