// Compares two report.json documents: case status changes (regressions first), cases added and
// removed, tier reached, summary counts, error-ratio drift, fallback changes and throughput.
#include "report_diff.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "report.hpp"
#include "report_fields.hpp"

namespace dshal::conformance {
namespace {

using nlohmann::json;
namespace f = fields;

json opt_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

// The first line of a message, shortened for one line of a terminal.
std::string first_line(const std::string& s) {
  std::string line = s.substr(0, s.find('\n'));
  return line.size() > 160 ? line.substr(0, 157) + "..." : line;
}

std::map<std::string, const json*> cases_by_id(const json& r) {
  std::map<std::string, const json*> out;
  for (const json& c : f::array(r, "cases")) out[f::str(c, "id")] = &c;
  return out;
}

json status_changes(const json& a, const json& b, json* diff) {
  const auto old_cases = cases_by_id(a), new_cases = cases_by_id(b);
  json regressions = json::array(), fixes = json::array(), others = json::array();
  json added = json::array(), removed = json::array();
  for (const auto& [id, c] : new_cases) {
    const std::string to = f::str(*c, "status");
    const auto it = old_cases.find(id);
    if (it == old_cases.end()) {
      added.push_back({{"id", id}, {"status", to}});
      if (status_fails_run(to))
        regressions.push_back({{"id", id}, {"from", nullptr}, {"to", to}, {"message", f::str(*c, "message")}});
      continue;
    }
    const std::string from = f::str(*it->second, "status");
    if (from == to) continue;
    json change = {{"id", id}, {"from", from}, {"to", to}, {"message", f::str(*c, "message")}};
    if (status_fails_run(to) && !status_fails_run(from)) regressions.push_back(change);
    else if (status_fails_run(from) && !status_fails_run(to)) fixes.push_back(change);
    else others.push_back(change);
  }
  for (const auto& [id, c] : old_cases)
    if (!new_cases.count(id)) removed.push_back({{"id", id}, {"status", f::str(*c, "status")}});
  (*diff)["regressions"] = regressions;
  (*diff)["fixes"] = fixes;
  (*diff)["other_status_changes"] = others;
  (*diff)["added"] = added;
  (*diff)["removed"] = removed;
  return regressions;
}

json ratio_changes(const json& a, const json& b, double factor) {
  const auto old_cases = cases_by_id(a), new_cases = cases_by_id(b);
  std::vector<json> out;
  for (const auto& [id, c] : new_cases) {
    const auto it = old_cases.find(id);
    if (it == old_cases.end() || f::str(*c, "status") != "passed" || f::str(*it->second, "status") != "passed")
      continue;
    const auto from = f::num(*it->second, "error_ratio"), to = f::num(*c, "error_ratio");
    if (!from || !to) continue;
    const double growth = std::max(*to, kRatioFloor) / std::max(*from, kRatioFloor);
    if (growth > factor || growth < 1 / factor)
      out.push_back({{"id", id}, {"from", *from}, {"to", *to}, {"factor", growth}});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const json& x, const json& y) { return x["factor"].get<double>() > y["factor"].get<double>(); });
  return json(out);
}

// How an op ran over the whole run, as the diff names it.
std::string run_mode(const json& r, const std::string& op) {
  const auto native = f::counts(r, "native_calls"), fallback = f::counts(r, "fallback_calls");
  double fb = fallback.count(op) ? fallback.at(op) : 0;
  for (const json& listed : f::array(r, "fallbacks"))
    if (listed.is_string() && listed.get<std::string>() == op && fb == 0) fb = 1;
  if (!f::member(r, "native_calls").is_object()) return fb > 0 ? "fallback" : "no fallback";
  return f::op_mode_name(f::op_mode(native.count(op) ? native.at(op) : 0, fb));
}

json fallback_changes(const json& a, const json& b) {
  std::set<std::string> ops;
  for (const json* r : {&a, &b}) {
    for (const auto& [op, n] : f::counts(*r, "native_calls")) ops.insert(op);
    for (const auto& [op, n] : f::counts(*r, "fallback_calls")) ops.insert(op);
    for (const json& op : f::array(*r, "fallbacks"))
      if (op.is_string()) ops.insert(op.get<std::string>());
  }
  const bool both_count_native = f::member(a, "native_calls").is_object() && f::member(b, "native_calls").is_object();
  json out = json::array();
  for (const std::string& op : ops) {
    const std::string from = run_mode(a, op), to = run_mode(b, op);
    if (from == to) continue;
    // With native counts on one side only, just a change in falling back is a change.
    const bool fell_back_before = from.find("fallback") != std::string::npos && from != "no fallback";
    const bool falls_back_now = to.find("fallback") != std::string::npos && to != "no fallback";
    if (!both_count_native && fell_back_before == falls_back_now) continue;
    out.push_back({{"op", op}, {"from", from}, {"to", to}});
  }
  return out;
}

json summary_changes(const json& a, const json& b) {
  const auto from = f::counts(a, "summary"), to = f::counts(b, "summary");
  std::set<std::string> keys;
  for (const auto& [k, v] : from) keys.insert(k);
  for (const auto& [k, v] : to) keys.insert(k);
  json out = json::object();
  for (const std::string& k : keys) {
    const auto x = from.find(k), y = to.find(k);
    const json jx = x == from.end() ? json(nullptr) : json(x->second), jy = y == to.end() ? json(nullptr) : json(y->second);
    if (jx != jy) out[k] = {{"from", jx}, {"to", jy}};
  }
  return out;
}

std::optional<double> ratio(const std::optional<double>& from, const std::optional<double>& to) {
  if (!from || !to || *from <= 0) return std::nullopt;
  return *to / *from;
}

void perf_changes(const json& a, const json& b, json* diff) {
  std::map<std::string, const json*> old_perf, new_perf;
  for (const json& p : f::array(a, "perf")) old_perf[f::str(p, "name")] = &p;
  for (const json& p : f::array(b, "perf")) new_perf[f::str(p, "name")] = &p;
  json changes = json::array(), added = json::array(), removed = json::array();
  for (const auto& [name, p] : new_perf) {
    const auto it = old_perf.find(name);
    if (it == old_perf.end()) {
      added.push_back(name);
      continue;
    }
    const auto g0 = f::num(*it->second, "gflops"), g1 = f::num(*p, "gflops");
    const auto d0 = f::num(*it->second, "device_gflops"), d1 = f::num(*p, "device_gflops");
    if (g0 == g1 && d0 == d1) continue;  // unchanged
    changes.push_back({{"name", name}, {"gflops_from", opt_json(g0)}, {"gflops_to", opt_json(g1)},
                       {"gflops_ratio", opt_json(ratio(g0, g1))}, {"device_gflops_from", opt_json(d0)},
                       {"device_gflops_to", opt_json(d1)}, {"device_gflops_ratio", opt_json(ratio(d0, d1))}});
  }
  for (const auto& [name, p] : old_perf)
    if (!new_perf.count(name)) removed.push_back(name);
  (*diff)["perf"] = changes;
  (*diff)["perf_added"] = added;
  (*diff)["perf_removed"] = removed;
}

}  // namespace

json diff_reports(const json& a, const json& b, const DiffOptions& options) {
  json diff = json::object();
  const json regressions = status_changes(a, b, &diff);
  const std::string tier_a = f::tier_reached(a), tier_b = f::tier_reached(b);
  diff["tier_reached"] = tier_a == tier_b ? json(nullptr) : json{{"from", tier_a}, {"to", tier_b}};
  diff["summary"] = summary_changes(a, b);
  diff["error_ratio_changes"] = ratio_changes(a, b, options.ratio_factor);
  diff["error_ratio_factor"] = options.ratio_factor;
  diff["fallback_changes"] = fallback_changes(a, b);
  perf_changes(a, b, &diff);
  diff["has_regressions"] = !regressions.empty();
  return diff;
}

namespace {

std::string num(const json& v) {
  if (!v.is_number()) return "—";
  return fmt::format("{:.3g}", v.get<double>());
}

std::string status_line(const json& c) {
  const std::string from = c["from"].is_string() ? c["from"].get<std::string>() : "(new case)";
  std::string line = fmt::format("  {}: {} -> {}", c["id"].get<std::string>(), from, c["to"].get<std::string>());
  const std::string msg = first_line(c.value("message", ""));
  if (!msg.empty()) line += "\n      " + msg;
  return line + "\n";
}

constexpr size_t kMaxListed = 40;  // per group in the text; --json lists everything

std::string group(const std::string& title, const json& items, const auto& line) {
  if (items.empty()) return "";
  std::string s = fmt::format("{} ({})\n", title, items.size());
  for (size_t i = 0; i < items.size() && i < kMaxListed; ++i) s += line(items[i]);
  if (items.size() > kMaxListed) s += fmt::format("  ... and {} more (--json lists all)\n", items.size() - kMaxListed);
  return s;
}

}  // namespace

std::string diff_text(const json& d, const std::string& old_path, const std::string& new_path) {
  std::string s = fmt::format("dshal report diff\n  old: {}\n  new: {}\n\n", old_path, new_path);
  const size_t before = s.size();
  s += group("REGRESSIONS", d["regressions"], status_line);
  s += group("FIXES", d["fixes"], status_line);
  s += group("OTHER STATUS CHANGES", d["other_status_changes"], status_line);
  auto id_status = [](const json& c) {
    return fmt::format("  {} ({})\n", c["id"].get<std::string>(), c["status"].get<std::string>());
  };
  s += group("CASES ADDED", d["added"], id_status);
  s += group("CASES REMOVED", d["removed"], id_status);
  if (d["tier_reached"].is_object())
    s += fmt::format("TIER REACHED: {} -> {}\n", d["tier_reached"]["from"].get<std::string>(),
                     d["tier_reached"]["to"].get<std::string>());
  if (!d["summary"].empty()) {
    s += "SUMMARY:";
    for (auto it = d["summary"].begin(); it != d["summary"].end(); ++it)
      s += fmt::format(" {} {} -> {};", it.key(), num(it.value()["from"]), num(it.value()["to"]));
    s += "\n";
  }
  s += group(fmt::format("ERROR RATIO CHANGES beyond {}x (cases passed in both; error / tolerance)",
                         num(d["error_ratio_factor"])),
             d["error_ratio_changes"], [](const json& c) {
               const double g = c["factor"].get<double>();
               return fmt::format("  {}: {} -> {} ({} {:.3g}x)\n", c["id"].get<std::string>(), num(c["from"]),
                                  num(c["to"]), g > 1 ? "worse" : "better", g > 1 ? g : 1 / g);
             });
  s += group("FALLBACK CHANGES", d["fallback_changes"], [](const json& c) {
    return fmt::format("  {}: {} -> {}\n", c["op"].get<std::string>(), c["from"].get<std::string>(),
                       c["to"].get<std::string>());
  });
  s += group("PERF (new / old)", d["perf"], [](const json& p) {
    std::string line = fmt::format("  {}: {} -> {} GFLOP/s ({}x)", p["name"].get<std::string>(), num(p["gflops_from"]),
                                   num(p["gflops_to"]), num(p["gflops_ratio"]));
    if (!p["device_gflops_from"].is_null() || !p["device_gflops_to"].is_null())
      line += fmt::format("; device {} -> {} ({}x)", num(p["device_gflops_from"]), num(p["device_gflops_to"]),
                          num(p["device_gflops_ratio"]));
    return line + "\n";
  });
  auto name_line = [](const json& n) { return "  " + n.get<std::string>() + "\n"; };
  s += group("PERF ADDED", d["perf_added"], name_line);
  s += group("PERF REMOVED", d["perf_removed"], name_line);
  if (s.size() == before) s += "No differences.\n";
  const size_t n = d["regressions"].size();
  s += n ? fmt::format("\nRESULT: {} regression(s) in the new report\n", n) : "\nRESULT: no regression\n";
  return s;
}

}  // namespace dshal::conformance
