// Reads and checks report.json files for `dshal report html` and `dshal report diff`.
#include "report_load.hpp"

#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

namespace dshal::conformance {
namespace {

using nlohmann::json;

Status bad(const std::string& path, const std::string& what) {
  return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("{}: {}", path, what));
}

const char* type_of(const json& v) { return v.type_name(); }

// Checks that an optional member, when present, is an object whose values are all numbers.
Status check_counts(const std::string& path, const json& j, const std::string& key) {
  if (!j.contains(key)) return {};
  const json& v = j.at(key);
  if (!v.is_object()) return bad(path, fmt::format("field '{}' should be an object, is {}", key, type_of(v)));
  for (auto it = v.begin(); it != v.end(); ++it)
    if (!it.value().is_number())
      return bad(path, fmt::format("field '{}.{}' should be a number, is {}", key, it.key(), type_of(it.value())));
  return {};
}

Status check_number_or_null(const std::string& path, const json& j, const std::string& key, const std::string& where) {
  if (!j.contains(key)) return {};
  const json& v = j.at(key);
  if (v.is_number() || v.is_null()) return {};
  return bad(path, fmt::format("field '{}.{}' should be a number or null, is {}", where, key, type_of(v)));
}

}  // namespace

Status load_report(const std::string& path, nlohmann::json* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad(path, "cannot open the report file (missing or unreadable)");
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return bad(path, "reading the report file failed");
  json j;
  try {
    j = json::parse(text.str());
  } catch (const json::parse_error& e) {
    return bad(path, fmt::format("not valid JSON ({})", e.what()));
  }
  if (!j.is_object()) return bad(path, fmt::format("a report is a JSON object, this is {}", type_of(j)));
  if (!j.contains("schema_version")) return bad(path, "field 'schema_version' is missing: not a dshal report.json");
  const json& v = j.at("schema_version");
  if (!v.is_number_integer() || v.get<int64_t>() < kOldestReportSchema || v.get<int64_t>() > kNewestReportSchema)
    return bad(path, fmt::format("field 'schema_version' is {}; this dshal reads versions {} to {}", v.dump(),
                                 kOldestReportSchema, kNewestReportSchema));
  *out = std::move(j);
  return {};
}

Status check_diffable(const std::string& path, const nlohmann::json& r) {
  if (!r.contains("cases")) return bad(path, "field 'cases' is missing");
  const json& cases = r.at("cases");
  if (!cases.is_array()) return bad(path, fmt::format("field 'cases' should be an array, is {}", type_of(cases)));
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < cases.size(); ++i) {
    const json& c = cases[i];
    const std::string where = fmt::format("cases[{}]", i);
    if (!c.is_object()) return bad(path, fmt::format("field '{}' should be an object, is {}", where, type_of(c)));
    for (const char* key : {"id", "status"})
      if (!c.contains(key) || !c.at(key).is_string())
        return bad(path, fmt::format("field '{}.{}' should be a string, is {}", where, key,
                                     c.contains(key) ? type_of(c.at(key)) : "missing"));
    const std::string id = c.at("id").get<std::string>();
    if (auto [it, fresh] = seen.emplace(id, i); !fresh)
      return bad(path, fmt::format("field '{}.id' repeats cases[{}].id '{}'", where, it->second, id));
    DSHAL_RETURN_IF_ERROR(check_number_or_null(path, c, "error_ratio", where));
  }
  DSHAL_RETURN_IF_ERROR(check_counts(path, r, "summary"));
  DSHAL_RETURN_IF_ERROR(check_counts(path, r, "native_calls"));
  DSHAL_RETURN_IF_ERROR(check_counts(path, r, "fallback_calls"));
  if (r.contains("fallbacks")) {
    const json& f = r.at("fallbacks");
    if (!f.is_array()) return bad(path, fmt::format("field 'fallbacks' should be an array, is {}", type_of(f)));
    for (size_t i = 0; i < f.size(); ++i)
      if (!f[i].is_string())
        return bad(path, fmt::format("field 'fallbacks[{}]' should be a string, is {}", i, type_of(f[i])));
  }
  if (r.contains("tier_reached") && !r.at("tier_reached").is_string())
    return bad(path, fmt::format("field 'tier_reached' should be a string, is {}", type_of(r.at("tier_reached"))));
  if (r.contains("perf")) {
    const json& perf = r.at("perf");
    if (!perf.is_array()) return bad(path, fmt::format("field 'perf' should be an array, is {}", type_of(perf)));
    for (size_t i = 0; i < perf.size(); ++i) {
      const json& p = perf[i];
      const std::string where = fmt::format("perf[{}]", i);
      if (!p.is_object() || !p.contains("name") || !p.at("name").is_string())
        return bad(path, fmt::format("field '{}.name' should be a string", where));
      DSHAL_RETURN_IF_ERROR(check_number_or_null(path, p, "gflops", where));
      DSHAL_RETURN_IF_ERROR(check_number_or_null(path, p, "device_gflops", where));
    }
  }
  return {};
}

}  // namespace dshal::conformance
