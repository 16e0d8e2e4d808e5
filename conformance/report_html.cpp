// report.html: page frame, header (verdict, tier reached), environment fingerprint and summary. The
// failures and the case table are in report_html_cases.cpp, the op matrix and graph map in
// report_html_ops.cpp, the charts in report_html_charts.cpp.
#include "report_html.hpp"

#include <map>

#include <fmt/format.h>

#include "report.hpp"
#include "report_fields.hpp"
#include "report_html_sections.hpp"
#include "report_html_util.hpp"

namespace dshal::conformance {
namespace {

using fields::array;
using fields::member;
using fields::num;
using fields::str;
using fields::text;
using html::esc;
using nlohmann::json;

constexpr const char* kStyle = R"css(
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d1d1d;
  margin:0;background:#f6f7f9}
main{max-width:1240px;margin:0 auto;padding:16px 24px 48px}
header.top{background:#20262e;color:#fff;padding:18px 24px}
header.top .inner{max-width:1240px;margin:0 auto;display:flex;flex-wrap:wrap;gap:18px;align-items:center}
header.top h1{font-size:22px;margin:0;flex:1 1 480px}
header.top .sub{color:#c9d1d9;font-size:13px;font-weight:normal;display:block;margin-top:4px}
.verdict{font-size:26px;font-weight:700;padding:6px 18px;border-radius:6px;color:#fff}
.tier{font-size:15px;padding:8px 14px;border-radius:6px;background:#3a4450}
.tier b{font-size:18px}
nav{background:#fff;border-bottom:1px solid #dde1e6;padding:8px 24px;font-size:13px}
nav .inner{max-width:1240px;margin:0 auto}
nav a{margin-right:14px;color:#0b57d0;text-decoration:none}
section{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:14px 20px 18px;margin:18px 0}
h2{font-size:18px;margin:0 0 10px}
h3{font-size:15px;margin:14px 0 6px}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #dde1e6;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f5}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.kv th{width:190px;font-weight:600}
.cols{display:flex;flex-wrap:wrap;gap:18px}
.cols>div{flex:1 1 360px}
.badge{display:inline-block;color:#fff;border-radius:4px;padding:0 7px;font-size:12px;font-weight:600;
  white-space:nowrap}
.tiles{display:flex;flex-wrap:wrap;gap:10px;margin-bottom:10px}
.tile{min-width:118px;border-radius:6px;padding:8px 12px;color:#fff}
.tile .n{font-size:24px;font-weight:700;display:block}
.tile.zero{opacity:.35}
.note{color:#555;font-style:italic}
pre.msg{white-space:pre-wrap;word-break:break-word;margin:0;font-size:12px;max-height:9em;overflow:auto}
.failure{border-left:6px solid #c62828;background:#fbfbfb;padding:6px 12px;margin:10px 0}
.failure pre.msg{max-height:none;background:#fff;border:1px solid #e3e3e3;padding:6px}
code.repro{display:block;background:#20262e;color:#e6edf3;padding:8px 10px;border-radius:4px;font-size:12px;
  white-space:pre-wrap;word-break:break-all;user-select:all;-webkit-user-select:all;margin-top:4px}
code{font-family:"DejaVu Sans Mono",Consolas,monospace}
td.id{font-family:"DejaVu Sans Mono",Consolas,monospace;font-size:12px;word-break:break-all;min-width:240px;
  max-width:420px}
table.cases td.msgcell{max-width:420px}
.matrix td{text-align:center;min-width:104px}
.matrix td.op{text-align:left;font-weight:600;font-family:"DejaVu Sans Mono",Consolas,monospace}
.matrix .cnt{font-size:15px;font-weight:700;display:block}
.matrix .mode{font-size:11px}
.matrix .bad{color:#c62828;font-size:11px;font-weight:700;display:block}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12px;margin:8px 0}
.legend span.sw{display:inline-block;width:14px;height:14px;border-radius:3px;vertical-align:-3px;margin-right:4px;
  border:1px solid #bbb}
.flow{display:flex;flex-wrap:wrap;align-items:stretch;gap:6px}
.step{border:3px solid #999;border-radius:8px;padding:6px 8px;min-width:150px;max-width:260px;background:#fff}
.step .name{font-weight:700;font-size:13px;margin-bottom:4px}
.arrow{align-self:center;font-size:20px;color:#777}
.chip{display:block;border-radius:4px;padding:2px 6px;margin:3px 0;font-size:12px;color:#fff}
.chip small{opacity:.9}
svg.chart{display:block;max-width:100%;height:auto}
svg.chart text{font-family:system-ui,"DejaVu Sans",sans-serif}
details summary{cursor:pointer;color:#0b57d0;margin:6px 0}
footer{color:#777;font-size:12px;text-align:center}
)css";

int count_status(const json& report, const std::string& status) {
  int n = 0;
  for (const json& c : array(report, "cases")) n += str(c, "status") == status;
  return n;
}

// The summary's count for a status, or the count over the cases when the summary lacks it (v1
// reports have no unsupported, timeout or claims-support-but-fails counts).
int summary_count(const json& report, const std::string& status) {
  const json& summary = member(report, "summary");
  if (auto v = num(summary, summary_key(status))) return static_cast<int>(*v);
  return count_status(report, status);
}

int failing_count(const json& report) {
  int n = 0;
  for (const std::string& s : fields::all_statuses())
    if (status_fails_run(s)) n += summary_count(report, s);
  return n;
}

std::string kv_row(const std::string& key, const std::string& value) {
  return fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", esc(key), esc(value.empty() ? "—" : value));
}

std::string header(const json& r) {
  const json& device = member(r, "device");
  const int cases = static_cast<int>(array(r, "cases").size());
  const int failing = failing_count(r);
  const std::string verdict = failing > 0 ? "FAIL" : cases == 0 ? "NO CASES" : "PASS";
  const char* verdict_color = failing > 0 ? "#c62828" : cases == 0 ? "#757575" : "#2e7d32";
  bool computed = false;
  const std::string reached = fields::tier_reached(r, &computed);
  const std::string name = str(device, "name");
  std::string s = "<header class=\"top\"><div class=\"inner\">\n";
  s += fmt::format("<h1>dshal porting report: {}{}<span class=\"sub\">tier run: {} · {} cases · {} failing · {} · {}</span></h1>\n",
                   esc(text(device, "id", "unknown device")), name.empty() ? "" : " — " + esc(name),
                   esc(text(r, "tier", "?")), cases, failing, esc(html::seconds(num(r, "seconds"))),
                   esc(text(r, "timestamp", "no timestamp")));
  s += fmt::format("<div class=\"verdict\" style=\"background:{}\">{}</div>\n", verdict_color, verdict);
  s += fmt::format("<div class=\"tier\">tier reached <b>{}</b>{}</div>\n", esc(reached),
                   computed ? "<br><small>(computed from the cases: report has no tier_reached)</small>" : "");
  s += "</div></header>\n";
  s += "<nav><div class=\"inner\"><a href=\"#environment\">Environment</a><a href=\"#summary\">Summary</a>"
       "<a href=\"#failures\">Failures</a><a href=\"#matrix\">Op × dtype</a><a href=\"#graph\">DeepSeek graph</a>"
       "<a href=\"#errors\">Error margins</a><a href=\"#perf\">Performance</a><a href=\"#cases\">All cases</a>"
       "</div></nav>\n";
  return s;
}

std::string environment(const json& r) {
  const json& d = member(r, "device");
  const json& env = member(r, "environment");
  const json& adapter = member(env, "adapter");
  auto join = [](const json& list) {
    std::string o;
    if (!list.is_array()) return o;
    for (const json& e : list)
      if (e.is_string()) o += (o.empty() ? "" : ", ") + e.get<std::string>();
    return o;
  };
  std::string dev = "<table class=\"kv\">\n";
  dev += kv_row("Device id", text(d, "id"));
  dev += kv_row("Backend", text(d, "backend"));
  dev += kv_row("Name", text(d, "name"));
  dev += kv_row("Vendor", text(d, "vendor"));
  dev += kv_row("Driver version", text(d, "driver_version"));
  dev += kv_row("Memory", html::bytes(num(d, "memory_bytes")));
  dev += kv_row("Max allocation", html::bytes(num(d, "max_alloc_bytes")));
  dev += kv_row("Max buffer range", html::bytes(num(d, "max_buffer_range")));
  dev += kv_row("Alignment", text(d, "alignment").empty() ? "" : text(d, "alignment") + " B");
  dev += kv_row("Compute units", text(d, "compute_units"));
  dev += kv_row("GEMM input types (native)", join(member(d, "dtypes")));
  dev += kv_row("Storage types", join(member(d, "storage_dtypes")));
  dev += "</table>\n";

  std::string ad = "<table class=\"kv\">\n";
  if (adapter.is_object()) {
    ad += kv_row("Adapter", text(adapter, "name"));
    ad += kv_row("Kind", text(adapter, "kind"));
    ad += kv_row("Vendor", text(adapter, "vendor"));
    ad += kv_row("Description", text(adapter, "description"));
    ad += kv_row("Manifest", text(adapter, "manifest", "none (built in)"));
    ad += kv_row("Library", text(adapter, "library", "none (built in)"));
    ad += kv_row("Expectations file", text(adapter, "expectations", "none"));
  } else {
    ad += "<tr><td class=\"note\">The report records no adapter (schema v1).</td></tr>\n";
  }
  ad += "</table>\n";

  std::string suite = "<table class=\"kv\">\n";
  suite += kv_row("Suite version", text(env, "suite_version"));
  suite += kv_row("Commit", text(env, "commit", text(r, "commit")));
  suite += kv_row("ABI version", text(env, "abi_version", text(r, "abi_version")));
  suite += kv_row("Report schema", text(r, "schema_version"));
  suite += kv_row("Tier requested", text(r, "tier"));
  suite += kv_row("Filter", text(r, "filter").empty() ? "none" : text(r, "filter"));
  suite += kv_row("Case timeout", text(r, "timeout_seconds").empty() ? "" : text(r, "timeout_seconds") + " s");
  suite += kv_row("Timestamp (UTC)", text(r, "timestamp"));
  suite += kv_row("Run time", html::seconds(num(r, "seconds")));
  suite += "</table>\n";

  std::string host = "<table class=\"kv\">\n";
  if (env.is_object()) {
    host += kv_row("OS", text(env, "os"));
    host += kv_row("Host CPU", text(env, "host_cpu"));
    host += kv_row("Compiler", text(env, "compiler"));
  } else {
    host += "<tr><td class=\"note\">The report records no host environment (schema v1).</td></tr>\n";
  }
  host += "</table>\n";

  return html::section("environment", "Environment fingerprint",
                       "<div class=\"cols\"><div><h3>Device</h3>" + dev + "</div><div><h3>Adapter</h3>" + ad +
                           "<h3>Host</h3>" + host + "</div><div><h3>Suite and run</h3>" + suite + "</div></div>\n");
}

std::string summary(const json& r) {
  std::string s = "<div class=\"tiles\">\n";
  int total = 0;
  std::vector<std::pair<std::string, int>> counts;
  for (const std::string& st : fields::all_statuses()) {
    const int n = summary_count(r, st);
    counts.emplace_back(st, n);
    total += n;
  }
  for (const auto& [st, n] : counts)
    s += fmt::format("<div class=\"tile{}\" style=\"background:{}\"><span class=\"n\">{}</span>{}</div>\n",
                     n == 0 ? " zero" : "", html::status_color(st), n, esc(st));
  s += "</div>\n";
  // One stacked bar: the share of each status.
  if (total > 0) {
    s += "<svg width=\"100%\" height=\"22\" viewBox=\"0 0 1000 22\" preserveAspectRatio=\"none\" role=\"img\">";
    double x = 0;
    for (const auto& [st, n] : counts) {
      if (n == 0) continue;
      const double w = 1000.0 * n / total;
      s += fmt::format("<rect x=\"{:.2f}\" y=\"0\" width=\"{:.2f}\" height=\"22\" fill=\"{}\"><title>{}: {}</title></rect>",
                       x, w, html::status_color(st), esc(st), n);
      x += w;
    }
    s += "</svg>\n";
  }
  s += "<p>A run fails when any case is failed, claims-support-but-fails, xpass, crashed or timeout. "
       "xfail and unsupported cases are expected by the adapter's expectations file.</p>\n";
  return html::section("summary", "Summary", s);
}

std::string page(const json& r) {
  const std::string title = "dshal porting report: " + text(member(r, "device"), "id", "unknown device");
  std::string s = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  s += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  s += "<title>" + esc(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  s += header(r);
  s += "<main>\n";
  if (!r.is_object())
    s += "<section><p class=\"note\">The document is not a JSON object; there is nothing to show.</p></section>\n";
  s += environment(r);
  s += summary(r);
  s += html::failures_section(r);
  s += html::op_matrix_section(r);
  s += html::graph_section(r);
  s += html::error_margin_section(r);
  s += html::perf_section(r);
  s += html::case_table_section(r);
  s += fmt::format("<footer>Generated by dshal from report.json (schema v{}). Self-contained: no script, no "
                   "network.</footer>\n",
                   esc(text(r, "schema_version", "?")));
  s += "</main>\n</body>\n</html>\n";
  return s;
}

}  // namespace

std::string render_html(const nlohmann::json& report) { return page(report); }

Status write_html(const nlohmann::json& report, const std::string& path) {
  std::string page_text;
  try {
    page_text = render_html(report);
  } catch (const std::exception& e) {  // a bug, not bad input: accessors never throw on content
    return Status(DSHAL_ERROR_INTERNAL, fmt::format("rendering '{}' failed: {}", path, e.what()));
  }
  return write_report_file(path, page_text);
}

}  // namespace dshal::conformance
