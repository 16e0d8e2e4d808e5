// Tolerant accessors over report.json, and the derived facts (failing statuses, tier reached, the
// element types a case id names) that the HTML page and the diff share.
#include "report_fields.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "report.hpp"

namespace dshal::conformance::fields {

const json& member(const json& j, const std::string& key) {
  static const json null_value;
  if (!j.is_object()) return null_value;
  const auto it = j.find(key);
  return it == j.end() ? null_value : *it;
}

std::string str(const json& j, const std::string& key, const std::string& fallback) {
  const json& v = member(j, key);
  return v.is_string() ? v.get<std::string>() : fallback;
}

std::optional<double> num(const json& j, const std::string& key) {
  const json& v = member(j, key);
  if (!v.is_number()) return std::nullopt;
  return v.get<double>();
}

std::string text(const json& j, const std::string& key, const std::string& fallback) {
  const json& v = member(j, key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return fallback;
}

const std::vector<json>& array(const json& j, const std::string& key) {
  static const std::vector<json> empty;
  const json& v = member(j, key);
  return v.is_array() ? v.get_ref<const json::array_t&>() : empty;
}

std::map<std::string, double> counts(const json& j, const std::string& key) {
  std::map<std::string, double> out;
  const json& v = member(j, key);
  if (!v.is_object()) return out;
  for (auto it = v.begin(); it != v.end(); ++it)
    if (it.value().is_number()) out[it.key()] = it.value().get<double>();
  return out;
}

const std::vector<std::string>& all_statuses() {
  static const std::vector<std::string> s = {"passed", "failed", "claims-support-but-fails", "xpass", "crashed",
                                             "timeout", "xfail", "unsupported", "skipped"};
  return s;
}

const std::vector<std::string>& tier_order() {
  static const std::vector<std::string> t = {"core", "ops", "model"};
  return t;
}

namespace {

// A case's tier: its "tier" field, else the id's first path component ("core/Gemm..." -> core).
std::string case_tier(const json& c) {
  std::string t = str(c, "tier");
  if (!t.empty()) return t;
  const std::string id = str(c, "id");
  return id.substr(0, id.find('/'));
}

}  // namespace

std::string tier_reached(const json& report, bool* computed) {
  const json& given = member(report, "tier_reached");
  if (computed) *computed = !given.is_string();
  if (given.is_string()) return given.get<std::string>();
  std::string reached = "none";
  for (const std::string& tier : tier_order()) {
    bool ran = false, failing = false;
    for (const json& c : array(report, "cases")) {
      if (case_tier(c) != tier) continue;
      ran = true;
      failing = failing || status_fails_run(str(c, "status"));
    }
    if (!ran || failing) break;
    reached = tier;
  }
  return reached;
}

const std::vector<std::string>& matrix_dtypes() {
  static const std::vector<std::string> d = {"f32", "f16", "bf16", "fp8", "int4"};
  return d;
}

std::vector<std::string> dtypes_in_id(const std::string& id) {
  std::set<std::string> tokens;
  std::string token;
  auto flush = [&] {
    if (!token.empty()) tokens.insert(token);
    token.clear();
  };
  for (size_t i = 0; i < id.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(id[i]);
    if (!std::isalnum(c)) {
      flush();
      continue;
    }
    // CamelCase boundary: "GemmQuantFp8" -> gemm quant fp8 (digits stay with the letters before them).
    if (std::isupper(c) && i > 0 && (std::islower(static_cast<unsigned char>(id[i - 1])) ||
                                     std::isdigit(static_cast<unsigned char>(id[i - 1]))))
      flush();
    token += static_cast<char>(std::tolower(c));
  }
  flush();
  std::vector<std::string> out;
  for (const std::string& d : matrix_dtypes())
    if (tokens.count(d)) out.push_back(d);
  return out;
}

OpMode op_mode(double native_calls, double fallback_calls) {
  const bool n = native_calls > 0, f = fallback_calls > 0;
  return n && f ? OpMode::kMixed : n ? OpMode::kNative : f ? OpMode::kFallback : OpMode::kNotRun;
}

const char* op_mode_name(OpMode m) {
  switch (m) {
    case OpMode::kNative: return "native";
    case OpMode::kFallback: return "fallback";
    case OpMode::kMixed: return "native + fallback";
    case OpMode::kNotRun: break;
  }
  return "not run";
}

}  // namespace dshal::conformance::fields
