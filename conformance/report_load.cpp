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

// The JSON types a field may have, as a bit set.
enum Types : unsigned { kString = 1, kNumber = 2, kNull = 4, kObject = 8, kArray = 16 };
constexpr unsigned kText = kString | kNull, kValue = kNumber | kNull;

bool has_type(const json& v, unsigned types) {
  return ((types & kString) && v.is_string()) || ((types & kNumber) && v.is_number()) ||
         ((types & kNull) && v.is_null()) || ((types & kObject) && v.is_object()) ||
         ((types & kArray) && v.is_array());
}

std::string type_names(unsigned types) {
  std::string s;
  for (auto [bit, name] : {std::pair{kString, "a string"}, std::pair{kNumber, "a number"}, std::pair{kObject, "an object"},
                           std::pair{kArray, "an array"}, std::pair{kNull, "null"}})
    if (types & bit) s += (s.empty() ? "" : " or ") + std::string(name);
  return s;
}

std::string field_name(const std::string& where, const std::string& key) {
  return where.empty() ? key : where + "." + key;
}

// The member `key` of object `j` (at `where`), when present, has one of `types`.
Status check(const std::string& path, const json& j, const std::string& where, const std::string& key, unsigned types) {
  const auto it = j.find(key);
  if (it == j.end() || has_type(*it, types)) return {};
  return bad(path, fmt::format("field '{}' should be {}, is {}", field_name(where, key), type_names(types), type_of(*it)));
}

// An optional member that, when present, is an object whose values are all numbers (op or status counts).
Status check_counts(const std::string& path, const json& j, const std::string& where, const std::string& key) {
  DSHAL_RETURN_IF_ERROR(check(path, j, where, key, kObject));
  if (!j.contains(key)) return {};
  const json& v = j.at(key);
  for (auto it = v.begin(); it != v.end(); ++it)
    if (!it.value().is_number())
      return bad(path, fmt::format("field '{}.{}' should be a number, is {}", field_name(where, key), it.key(),
                                   type_of(it.value())));
  return {};
}

// An optional member that, when present, is an array whose elements are objects; each is checked by `each`.
template <typename Each>
Status check_objects(const std::string& path, const json& j, const std::string& key, Each each) {
  DSHAL_RETURN_IF_ERROR(check(path, j, "", key, kArray));
  if (!j.contains(key)) return {};
  const json& list = j.at(key);
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = fmt::format("{}[{}]", key, i);
    if (!list[i].is_object()) return bad(path, fmt::format("field '{}' should be an object, is {}", where, type_of(list[i])));
    DSHAL_RETURN_IF_ERROR(each(list[i], where));
  }
  return {};
}

Status check_device_and_environment(const std::string& path, const json& r) {
  DSHAL_RETURN_IF_ERROR(check(path, r, "", "device", kObject));
  if (r.contains("device")) {
    const json& d = r.at("device");
    for (const char* key : {"id", "backend", "name", "vendor", "driver_version"})
      DSHAL_RETURN_IF_ERROR(check(path, d, "device", key, kText));
    for (const char* key : {"memory_bytes", "max_alloc_bytes", "max_buffer_range", "alignment", "compute_units"})
      DSHAL_RETURN_IF_ERROR(check(path, d, "device", key, kValue));
    for (const char* key : {"dtypes", "storage_dtypes"}) DSHAL_RETURN_IF_ERROR(check(path, d, "device", key, kArray));
  }
  DSHAL_RETURN_IF_ERROR(check(path, r, "", "environment", kObject));
  if (!r.contains("environment")) return {};
  const json& env = r.at("environment");
  for (const char* key : {"suite_version", "commit", "os", "host_cpu", "compiler"})
    DSHAL_RETURN_IF_ERROR(check(path, env, "environment", key, kText));
  DSHAL_RETURN_IF_ERROR(check(path, env, "environment", "abi_version", kValue));
  DSHAL_RETURN_IF_ERROR(check(path, env, "environment", "adapter", kObject));
  if (!env.contains("adapter")) return {};
  for (const char* key : {"name", "kind", "manifest", "library", "vendor", "description", "expectations"})
    DSHAL_RETURN_IF_ERROR(check(path, env.at("adapter"), "environment.adapter", key, kText));
  return {};
}

Status check_case(const std::string& path, const json& c, const std::string& where) {
  for (const char* key : {"id", "status"})
    if (!c.contains(key) || !c.at(key).is_string())
      return bad(path, fmt::format("field '{}.{}' should be a string, is {}", where, key,
                                   c.contains(key) ? type_of(c.at(key)) : "missing"));
  for (const char* key : {"tier", "message", "signal", "repro"}) DSHAL_RETURN_IF_ERROR(check(path, c, where, key, kText));
  for (const char* key : {"max_abs_err", "nmse", "tolerance", "error_ratio", "seconds"})
    DSHAL_RETURN_IF_ERROR(check(path, c, where, key, kValue));
  DSHAL_RETURN_IF_ERROR(check(path, c, where, "expectation", kObject | kNull));
  DSHAL_RETURN_IF_ERROR(check(path, c, where, "ops", kObject));
  if (!c.contains("ops")) return {};
  for (const char* kind : {"native", "fallback"})
    DSHAL_RETURN_IF_ERROR(check_counts(path, c.at("ops"), where + ".ops", kind));
  return {};
}

Status check_graph_step(const std::string& path, const json& step, const std::string& where) {
  DSHAL_RETURN_IF_ERROR(check(path, step, where, "step", kString));
  DSHAL_RETURN_IF_ERROR(check(path, step, where, "ops", kArray));
  if (!step.contains("ops")) return {};
  const json& ops = step.at("ops");
  for (size_t i = 0; i < ops.size(); ++i) {
    const std::string at = fmt::format("{}.ops[{}]", where, i);
    if (!ops[i].is_object()) return bad(path, fmt::format("field '{}' should be an object, is {}", at, type_of(ops[i])));
    DSHAL_RETURN_IF_ERROR(check(path, ops[i], at, "op", kString));
    for (const char* key : {"native", "fallback"}) DSHAL_RETURN_IF_ERROR(check(path, ops[i], at, key, kNumber));
  }
  return {};
}

Status check_perf(const std::string& path, const json& p, const std::string& where) {
  if (!p.contains("name") || !p.at("name").is_string())
    return bad(path, fmt::format("field '{}.name' should be a string, is {}", where,
                                 p.contains("name") ? type_of(p.at("name")) : "missing"));
  for (const char* key : {"op", "dtype"}) DSHAL_RETURN_IF_ERROR(check(path, p, where, key, kText));
  for (const char* key : {"m", "n", "k", "flop", "wall_seconds", "device_seconds", "gflops", "device_gflops"})
    DSHAL_RETURN_IF_ERROR(check(path, p, where, key, kValue));
  return {};
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
  } catch (const json::exception& e) {  // syntax errors, and numbers out of range (1e999)
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

Status check_fields(const std::string& path, const nlohmann::json& r) {
  if (!r.contains("cases")) return bad(path, "field 'cases' is missing");
  DSHAL_RETURN_IF_ERROR(check(path, r, "", "cases", kArray));
  DSHAL_RETURN_IF_ERROR(check_objects(path, r, "cases", [&](const json& c, const std::string& where) {
    return check_case(path, c, where);
  }));
  std::map<std::string, size_t> seen;  // diff pairs cases by id
  const json& cases = r.at("cases");
  for (size_t i = 0; i < cases.size(); ++i)
    if (auto [it, fresh] = seen.emplace(cases[i].at("id").get<std::string>(), i); !fresh)
      return bad(path, fmt::format("field 'cases[{}].id' repeats cases[{}].id '{}'", i, it->second, it->first));
  DSHAL_RETURN_IF_ERROR(check_device_and_environment(path, r));
  for (const char* key : {"tier", "filter", "tier_reached", "commit", "timestamp"})
    DSHAL_RETURN_IF_ERROR(check(path, r, "", key, kString));
  for (const char* key : {"abi_version", "timeout_seconds", "seconds"}) DSHAL_RETURN_IF_ERROR(check(path, r, "", key, kValue));
  for (const char* key : {"summary", "native_calls", "fallback_calls"}) DSHAL_RETURN_IF_ERROR(check_counts(path, r, "", key));
  DSHAL_RETURN_IF_ERROR(check(path, r, "", "fallbacks", kArray));
  if (r.contains("fallbacks")) {
    const json& f = r.at("fallbacks");
    for (size_t i = 0; i < f.size(); ++i)
      if (!f[i].is_string())
        return bad(path, fmt::format("field 'fallbacks[{}]' should be a string, is {}", i, type_of(f[i])));
  }
  DSHAL_RETURN_IF_ERROR(check_objects(path, r, "graph", [&](const json& step, const std::string& where) {
    return check_graph_step(path, step, where);
  }));
  return check_objects(path, r, "perf", [&](const json& p, const std::string& where) { return check_perf(path, p, where); });
}

}  // namespace dshal::conformance
