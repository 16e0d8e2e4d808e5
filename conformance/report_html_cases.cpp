// report.html's failures (each with its message, signal, expectation and repro command) and the
// table of every case.
#include <fmt/format.h>

#include "report.hpp"
#include "report_fields.hpp"
#include "report_html_sections.hpp"
#include "report_html_util.hpp"

namespace dshal::conformance::html {
namespace {

using fields::array;
using fields::member;
using fields::num;
using fields::str;
using fields::text;
using json = nlohmann::json;

// The repro command: the report's, or one built from the device and case id for reports without it.
std::string repro_block(const json& r, const json& c) {
  const std::string given = str(c, "repro");
  if (!given.empty()) return "<code class=\"repro\">" + esc(given) + "</code>\n";
  std::string id = str(c, "id"), quoted;
  for (char ch : id) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  const std::string cmd = fmt::format("dshal conform --device {} --tier {} --filter '{}' --report /tmp/dshal-repro",
                                      text(member(r, "device"), "id", "DEVICE"), text(c, "tier", "all"), quoted);
  return "<code class=\"repro\">" + esc(cmd) +
         "</code><small class=\"note\">(built from the device and case id: the report has no repro field; "
         "add DSHAL_ADAPTER_PATH for a plugin)</small>\n";
}

std::string expectation_text(const json& c) {
  const json& e = member(c, "expectation");
  if (!e.is_object()) return "";
  return fmt::format("expected {} by '{}': {}", text(e, "kind", "?"), text(e, "pattern", "?"), text(e, "reason"));
}

std::string ops_text(const json& c) {
  const json& ops = member(c, "ops");
  std::string o;
  for (const char* kind : {"native", "fallback"}) {
    std::string list;
    for (const auto& [op, calls] : fields::counts(ops, kind))
      list += fmt::format("{}{}×{:.0f}", list.empty() ? "" : ", ", op, calls);
    if (!list.empty()) o += fmt::format("{}{}: {}", o.empty() ? "" : "; ", kind, list);
  }
  return o;
}

}  // namespace

std::string failures_section(const json& r) {
  std::string s;
  int n = 0;
  for (const json& c : array(r, "cases")) {
    const std::string status = str(c, "status");
    if (!status_fails_run(status)) continue;
    ++n;
    s += fmt::format("<div class=\"failure\" style=\"border-left-color:{}\">\n", html::status_color(status));
    s += fmt::format("<h3>{} <code>{}</code></h3>\n", html::status_badge(status), esc(text(c, "id", "(no id)")));
    const std::string signal = text(c, "signal"), expectation = expectation_text(c);
    if (!signal.empty()) s += "<p>Signal: <b>" + esc(signal) + "</b></p>\n";
    if (!expectation.empty()) s += "<p>" + esc(expectation) + "</p>\n";
    if (auto ratio = num(c, "error_ratio"))
      s += "<p>Error / tolerance: <b>" + esc(html::num_text(ratio)) + "</b></p>\n";
    const std::string message = text(c, "message");
    s += "<pre class=\"msg\">" + esc(message.empty() ? "(no message)" : message) + "</pre>\n";
    s += "<div>Reproduce:</div>" + repro_block(r, c);
    s += "</div>\n";
  }
  if (n == 0) s = "<p>No failing case.</p>\n";
  return html::section("failures", fmt::format("Failures ({})", n), s);
}

std::string case_table_section(const json& r) {
  const std::vector<json>& cases = array(r, "cases");
  if (cases.empty()) return html::section("cases", "All cases", "<p class=\"note\">The report has no cases.</p>\n");
  std::string s =
      "<table class=\"cases\"><tr><th>#</th><th>case</th><th>tier</th><th>status</th><th>error / tol</th>"
      "<th>max abs err</th><th>nmse</th><th>tolerance</th><th>seconds</th><th>ops (calls)</th><th>message</th></tr>\n";
  int i = 0;
  for (const json& c : cases) {
    std::string note = text(c, "message");
    const std::string expectation = expectation_text(c), signal = text(c, "signal");
    if (!signal.empty()) note = "signal " + signal + (note.empty() ? "" : ": " + note);
    if (!expectation.empty()) note += (note.empty() ? "" : "\n") + expectation;
    s += fmt::format(
        "<tr><td class=\"num\">{}</td><td class=\"id\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td>{}</td><td class=\"msgcell\">{}</td></tr>\n",
        ++i, esc(text(c, "id")), esc(text(c, "tier")), html::status_badge(str(c, "status")),
        esc(html::num_text(num(c, "error_ratio"))), esc(html::num_text(num(c, "max_abs_err"))), esc(html::num_text(num(c, "nmse"))),
        esc(html::num_text(num(c, "tolerance"))), esc(html::num_text(num(c, "seconds"))), esc(ops_text(c)),
        note.empty() ? "" : "<pre class=\"msg\">" + esc(note) + "</pre>");
  }
  s += "</table>\n";
  return html::section("cases", fmt::format("All cases ({})", cases.size()), s);
}


}  // namespace dshal::conformance::html
