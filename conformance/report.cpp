// Writers for report.json, report.md and junit.xml.
#include "report.hpp"

#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "host/dtype.hpp"

namespace dshal::conformance {
namespace {

Status write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("cannot write report file '{}'", path));
  out << text;
  out.close();
  if (!out) return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("writing report file '{}' failed", path));
  return {};
}

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') o += ' ';
        else o += c;
    }
  }
  return o;
}

std::string md_cell(const std::string& s) {
  std::string o;
  for (char c : s) o += (c == '|') ? '/' : (c == '\n' ? ' ' : c);
  return o.size() > 300 ? o.substr(0, 297) + "..." : o;
}

nlohmann::json opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

}  // namespace

std::string dtype_list(uint32_t mask) {
  std::vector<std::string> names;
  for (int t = DSHAL_DTYPE_F32; t <= DSHAL_DTYPE_U8; ++t)
    if (mask & DSHAL_DTYPE_BIT(t)) names.push_back(dtype_name(static_cast<dshal_dtype>(t)));
  return fmt::format("{}", fmt::join(names, ","));
}

Status write_json(const Report& r, const std::string& path) {
  nlohmann::json j;
  j["schema_version"] = 1;
  const dshal_device_properties& p = r.device.properties;
  std::vector<std::string> dtypes;
  for (int t = DSHAL_DTYPE_F32; t <= DSHAL_DTYPE_U8; ++t)
    if (p.gemm_dtypes & DSHAL_DTYPE_BIT(t)) dtypes.push_back(dtype_name(static_cast<dshal_dtype>(t)));
  j["device"] = {{"id", r.device.id},
                 {"backend", r.device.backend},
                 {"name", p.name},
                 {"vendor", p.vendor},
                 {"driver_version", p.driver_version},
                 {"memory_bytes", p.memory_bytes},
                 {"max_alloc_bytes", p.max_alloc_bytes},
                 {"alignment", p.alignment},
                 {"dtypes", dtypes}};
  j["abi_version"] = r.abi_version;
  j["tier"] = r.tier;
  j["filter"] = r.filter;
  j["summary"] = {{"passed", r.summary.passed}, {"failed", r.summary.failed}, {"skipped", r.summary.skipped},
                  {"xfail", r.summary.xfail},   {"xpass", r.summary.xpass},   {"crashed", r.summary.crashed}};
  j["cases"] = nlohmann::json::array();
  for (const CaseResult& c : r.cases)
    j["cases"].push_back({{"id", c.id},
                          {"tier", c.tier},
                          {"status", c.status},
                          {"message", c.message},
                          {"max_abs_err", opt(c.max_abs_err)},
                          {"nmse", opt(c.nmse)},
                          {"tolerance", opt(c.tolerance)},
                          {"error_ratio", opt(c.error_ratio)},
                          {"seconds", c.seconds}});
  j["fallbacks"] = nlohmann::json::array();
  j["fallback_calls"] = nlohmann::json::object();
  for (const auto& [op, calls] : r.fallbacks) {
    j["fallbacks"].push_back(op);
    j["fallback_calls"][op] = calls;
  }
  j["commit"] = r.commit;
  j["timestamp"] = r.timestamp;
  j["seconds"] = r.seconds;
  return write_file(path, j.dump(2) + "\n");
}

Status write_markdown(const Report& r, const std::string& path) {
  const dshal_device_properties& p = r.device.properties;
  std::string s = fmt::format("# dshal conformance: {}\n\n", r.device.id);
  s += fmt::format("- Device: {} ({}), driver {}\n", p.name, p.vendor, p.driver_version);
  s += fmt::format("- Memory: {:.1f} GiB; GEMM types: {}\n", double(p.memory_bytes) / (1ull << 30), dtype_list(p.gemm_dtypes));
  s += fmt::format("- ABI version {}; tier `{}`{}; commit {}; {}\n", r.abi_version, r.tier,
                   r.filter.empty() ? "" : fmt::format(", filter `{}`", r.filter), r.commit, r.timestamp);
  s += fmt::format("\n**{}** — {} passed, {} failed, {} skipped, {} xfail, {} xpass, {} crashed ({:.1f} s)\n\n",
                   r.summary.failed + r.summary.crashed + r.summary.xpass == 0 ? "PASS" : "FAIL", r.summary.passed,
                   r.summary.failed, r.summary.skipped, r.summary.xfail, r.summary.xpass, r.summary.crashed, r.seconds);
  s += "## Fallbacks\n\n";
  if (r.fallbacks.empty()) s += "None: every op ran natively.\n\n";
  for (const auto& [op, calls] : r.fallbacks) s += fmt::format("- `{}` ran on the host {} time(s)\n", op, calls);
  if (!r.fallbacks.empty()) s += "\n";
  s += "## Cases\n\n| case | status | max abs err | nmse | tolerance | seconds | message |\n|---|---|---|---|---|---|---|\n";
  auto num = [](const std::optional<double>& v) { return v ? fmt::format("{:.3g}", *v) : std::string("—"); };
  for (const CaseResult& c : r.cases)
    s += fmt::format("| `{}` | {} | {} | {} | {} | {:.3f} | {} |\n", c.id, c.status, num(c.max_abs_err), num(c.nmse),
                     num(c.tolerance), c.seconds, md_cell(c.message));
  return write_file(path, s);
}

Status write_junit(const Report& r, const std::string& path) {
  const int failures = r.summary.failed + r.summary.xpass, errors = r.summary.crashed;
  std::string s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += fmt::format("<testsuites name=\"dshal conformance\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3f}\">\n",
                   r.cases.size(), failures, errors, r.seconds);
  s += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3f}\" timestamp=\"{}\">\n",
                   xml_escape(r.device.id), r.cases.size(), failures, errors, r.summary.skipped + r.summary.xfail,
                   r.seconds, xml_escape(r.timestamp));
  for (const CaseResult& c : r.cases) {
    const std::string classname = xml_escape(c.id.substr(0, c.id.find('.')));
    const std::string name = xml_escape(c.id.substr(c.id.find('.') + 1));
    s += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\"", classname, name, c.seconds);
    if (c.status == "passed") {
      s += "/>\n";
      continue;
    }
    s += ">\n";
    if (c.status == "failed" || c.status == "xpass")
      s += fmt::format("      <failure message=\"{}\"/>\n", xml_escape(c.message.substr(0, 500)));
    else if (c.status == "crashed")
      s += fmt::format("      <error message=\"{}\"/>\n", xml_escape(c.message.substr(0, 500)));
    else
      s += fmt::format("      <skipped message=\"{}\"/>\n", xml_escape(c.message.substr(0, 500)));
    s += "    </testcase>\n";
  }
  s += "  </testsuite>\n</testsuites>\n";
  return write_file(path, s);
}

}  // namespace dshal::conformance
