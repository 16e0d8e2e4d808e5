// report.md (for people) and junit.xml (for CI): crashed/timeout are <error>; failed,
// claims-support-but-fails and xpass are <failure>; skipped, unsupported and xfail are <skipped>.
#include <fmt/format.h>

#include "report.hpp"
#include "report_html_util.hpp"  // html::esc, whose output is valid XML text and attributes too

namespace dshal::conformance {
namespace {

std::string md_cell(const std::string& s) {
  std::string o;
  for (char c : s) o += (c == '|') ? '/' : (c == '\n' ? ' ' : c);
  return o.size() > 300 ? o.substr(0, 297) + "..." : o;
}

std::string counts_text(const OpCounts& c) {
  std::vector<std::string> parts;
  for (const auto& [op, n] : c) parts.push_back(fmt::format("{} {}", op, n));
  return parts.empty() ? "—" : fmt::format("{}", fmt::join(parts, ", "));
}

std::string environment_md(const Report& r) {
  const Environment& e = r.environment;
  const AdapterInfo& a = e.adapter;
  std::string s = "## Environment\n\n";
  s += fmt::format("- Suite {} (commit {}), ABI version {} (adapter speaks {})\n", e.suite_version, e.commit,
                   e.abi_version, r.abi_version);
  s += fmt::format("- Host: {}; CPU {}; built with {}\n", e.os, e.host_cpu, e.compiler);
  s += fmt::format("- Adapter `{}` ({}): {}{}\n", a.name, a.builtin ? "built-in" : "plugin", a.description,
                   a.vendor.empty() ? "" : fmt::format(", vendor {}", a.vendor));
  if (!a.builtin) s += fmt::format("- Manifest `{}`, library `{}`\n", a.manifest, a.library);
  s += fmt::format("- Expectations: {}\n\n", a.expectations.empty() ? "none" : "`" + a.expectations + "`");
  return s;
}

std::string graph_md(const Report& r) {
  if (r.graph.empty()) return "";
  std::string s = "## DeepSeek graph (calls over the model-tier cases)\n\n| step | op | native | host fallback |\n|---|---|---|---|\n";
  for (const GraphStep& g : r.graph)
    for (const GraphStep::Op& op : g.ops)
      if (op.native + op.fallback > 0)
        s += fmt::format("| {} | `{}` | {} | {} |\n", g.step, op.op, op.native, op.fallback);
  return s + "\n";
}

std::string perf_md(const Report& r) {
  if (r.perf.empty()) return "";
  std::string s = "## Performance (measured, never pass/fail)\n\n| benchmark | wall s | GFLOP/s | device GFLOP/s |\n|---|---|---|---|\n";
  for (const PerfResult& p : r.perf)
    s += fmt::format("| {} | {:.6f} | {:.1f} | {} |\n", p.name, p.wall_seconds, p.gflops,
                     p.device_gflops ? fmt::format("{:.1f}", *p.device_gflops) : std::string("—"));
  return s + "\n";
}

}  // namespace

Status write_markdown(const Report& r, const std::string& path) {
  const dshal_device_properties& p = r.device.properties;
  std::string s = fmt::format("# dshal conformance: {}\n\n", r.device.id);
  s += fmt::format("- Device: {} ({}), driver {}\n", p.name, p.vendor, p.driver_version);
  s += fmt::format("- Memory: {:.1f} GiB; GEMM types: {}; storage types: {}\n", double(p.memory_bytes) / (1ull << 30),
                   dtype_list(p.gemm_dtypes), dtype_list(p.storage_dtypes));
  s += fmt::format("- Tier `{}`{}, per-case timeout {} s; {}\n", r.tier,
                   r.filter.empty() ? "" : fmt::format(", filter `{}`", r.filter), r.timeout_seconds, r.timestamp);
  s += fmt::format("\n**{}** — tier reached: **{}** — {} ({:.1f} s)\n\n", r.summary.failing() == 0 ? "PASS" : "FAIL",
                   r.tier_reached, r.summary.line(), r.seconds);
  s += environment_md(r);

  std::string failures;
  for (const CaseResult& c : r.cases)
    if (status_fails_run(c.status))
      failures += fmt::format("- `{}` **{}**{}: {}\n  ```\n  {}\n  ```\n", c.id, c.status,
                              c.signal.empty() ? "" : " (" + c.signal + ")", md_cell(c.message), c.repro);
  if (!failures.empty()) s += "## Failures and how to reproduce them\n\n" + failures + "\n";

  s += "## Fallbacks\n\n";
  if (r.fallback_calls.empty()) s += "None: every counted op ran natively.\n\n";
  for (const auto& [op, calls] : r.fallback_calls) s += fmt::format("- `{}` ran on the host {} time(s)\n", op, calls);
  if (!r.fallback_calls.empty()) s += "\n";
  s += fmt::format("Native calls: {}\n\n", counts_text(r.native_calls));
  s += graph_md(r) + perf_md(r);

  s += "## Cases\n\n| case | status | max abs err | nmse | tolerance | seconds | native ops | expectation | message |\n"
       "|---|---|---|---|---|---|---|---|---|\n";
  auto num = [](const std::optional<double>& v) { return v ? fmt::format("{:.3g}", *v) : std::string("—"); };
  for (const CaseResult& c : r.cases) {
    const std::string expectation =
        c.expectation ? fmt::format("{} `{}`: {}", c.expectation->kind, c.expectation->pattern, c.expectation->reason) : "";
    s += fmt::format("| `{}` | {}{} | {} | {} | {} | {:.3f} | {} | {} | {} |\n", c.id, c.status,
                     c.signal.empty() ? "" : " (" + c.signal + ")", num(c.max_abs_err), num(c.nmse), num(c.tolerance),
                     c.seconds, counts_text(c.native), md_cell(expectation), md_cell(c.message));
  }
  return write_report_file(path, s);
}

Status write_junit(const Report& r, const std::string& path) {
  const Summary& sum = r.summary;
  const int failures = sum["failed"] + sum["claims-support-but-fails"] + sum["xpass"];
  const int errors = sum["crashed"] + sum["timeout"];
  const int skipped = sum["skipped"] + sum["unsupported"] + sum["xfail"];
  std::string s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += fmt::format("<testsuites name=\"dshal conformance\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3f}\">\n",
                   r.cases.size(), failures, errors, r.seconds);
  s += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3f}\" timestamp=\"{}\">\n",
                   html::esc(r.device.id), r.cases.size(), failures, errors, skipped, r.seconds, html::esc(r.timestamp));
  for (const CaseResult& c : r.cases) {
    const std::string classname = html::esc(c.id.substr(0, c.id.find('.')));
    const std::string name = html::esc(c.id.substr(c.id.find('.') + 1));
    s += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\"", classname, name, c.seconds);
    if (c.status == "passed") {
      s += "/>\n";
      continue;
    }
    const std::string message = html::esc(fmt::format("{}{}: {}", c.status, c.signal.empty() ? "" : " (" + c.signal + ")",
                                                       c.message.substr(0, 500)));
    const char* element = (c.status == "crashed" || c.status == "timeout")                                 ? "error"
                          : (c.status == "failed" || c.status == "claims-support-but-fails" || c.status == "xpass") ? "failure"
                                                                                                             : "skipped";
    s += fmt::format(">\n      <{} message=\"{}\"", element, message);
    if (!c.repro.empty()) s += fmt::format(">{}</{}>\n", html::esc(c.repro), element);
    else s += "/>\n";
    s += "    </testcase>\n";
  }
  s += "  </testsuite>\n</testsuites>\n";
  return write_report_file(path, s);
}

}  // namespace dshal::conformance
