// report.json (schema version 2) and what every writer shares: statuses, the summary, file output.
#include "report.hpp"

#include <algorithm>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "host/dtype.hpp"
#include "protocol.hpp"

namespace dshal::conformance {
namespace {

using nlohmann::json;

json opt(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }
json opt_string(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

std::vector<std::string> dtype_names(uint32_t mask) {
  std::vector<std::string> names;
  for (int t = DSHAL_DTYPE_F32; t <= DSHAL_DTYPE_U8; ++t)
    if (mask & DSHAL_DTYPE_BIT(t)) names.push_back(dtype_name(static_cast<dshal_dtype>(t)));
  return names;
}

json counts(const OpCounts& c) {
  json j = json::object();
  for (const auto& [op, n] : c) j[op] = n;
  return j;
}

json device_json(const Report& r) {
  const dshal_device_properties& p = r.device.properties;
  json j = property_fields(p);
  j["id"] = r.device.id;
  j["backend"] = r.device.backend;
  j["dtypes"] = dtype_names(p.gemm_dtypes);
  j["storage_dtypes"] = dtype_names(p.storage_dtypes);
  return j;
}

json environment_json(const Environment& e) {
  const AdapterInfo& a = e.adapter;
  return {{"suite_version", e.suite_version},
          {"commit", e.commit},
          {"abi_version", e.abi_version},
          {"os", e.os},
          {"host_cpu", e.host_cpu},
          {"compiler", e.compiler},
          {"adapter",
           {{"name", a.name},
            {"kind", a.builtin ? "builtin" : "plugin"},
            {"manifest", opt_string(a.manifest)},
            {"library", opt_string(a.library)},
            {"vendor", a.vendor},
            {"description", a.description},
            {"expectations", opt_string(a.expectations)}}}};
}

json case_json(const CaseResult& c) {
  json expectation = nullptr;
  if (c.expectation)
    expectation = {{"kind", c.expectation->kind}, {"pattern", c.expectation->pattern}, {"reason", c.expectation->reason}};
  return {{"id", c.id},
          {"tier", c.tier},
          {"status", c.status},
          {"message", c.message},
          {"max_abs_err", opt(c.max_abs_err)},
          {"nmse", opt(c.nmse)},
          {"tolerance", opt(c.tolerance)},
          {"error_ratio", opt(c.error_ratio)},
          {"seconds", c.seconds},
          {"ops", {{"native", counts(c.native)}, {"fallback", counts(c.fallback)}}},
          {"expectation", expectation},
          {"signal", opt_string(c.signal)},
          {"repro", opt_string(c.repro)}};
}

}  // namespace

bool status_fails_run(const std::string& s) {
  return s == "failed" || s == "claims-support-but-fails" || s == "xpass" || s == "crashed" || s == "timeout";
}

json property_fields(const dshal_device_properties& p) {
  return {{"name", p.name},
          {"vendor", p.vendor},
          {"driver_version", p.driver_version},
          {"memory_bytes", p.memory_bytes},
          {"max_alloc_bytes", p.max_alloc_bytes},
          {"max_buffer_range", p.max_buffer_range},
          {"alignment", p.alignment},
          {"compute_units", p.compute_units}};
}

std::string summary_key(const std::string& status) {
  std::string key = status;
  std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

int Summary::operator[](const std::string& status) const {
  const auto it = counts.find(status);
  return it == counts.end() ? 0 : it->second;
}

int Summary::failing() const {
  int n = 0;
  for (const auto& [status, count] : counts)
    if (status_fails_run(status)) n += count;
  return n;
}

std::string Summary::line() const {
  std::vector<std::string> parts;
  for (const char* s : kStatuses)
    if ((*this)[s] > 0) parts.push_back(fmt::format("{} {}", (*this)[s], s));
  return parts.empty() ? "no cases" : fmt::format("{}", fmt::join(parts, ", "));
}

std::string dtype_list(uint32_t mask) { return fmt::format("{}", fmt::join(dtype_names(mask), ",")); }

Status write_report_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("cannot write report file '{}'", path));
  out << text;
  out.close();
  if (!out) return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("writing report file '{}' failed", path));
  return {};
}

json to_json(const Report& r) {
  json j;
  j["schema_version"] = 2;
  j["device"] = device_json(r);
  j["environment"] = environment_json(r.environment);
  j["abi_version"] = r.abi_version;
  j["tier"] = r.tier;
  j["filter"] = r.filter;
  j["timeout_seconds"] = r.timeout_seconds;
  j["tier_reached"] = r.tier_reached;
  j["summary"] = json::object();
  for (const char* s : kStatuses) j["summary"][summary_key(s)] = r.summary[s];
  j["cases"] = json::array();
  for (const CaseResult& c : r.cases) j["cases"].push_back(case_json(c));
  j["fallbacks"] = json::array();
  for (const auto& [op, calls] : r.fallback_calls) j["fallbacks"].push_back(op);
  j["fallback_calls"] = counts(r.fallback_calls);
  j["native_calls"] = counts(r.native_calls);
  j["graph"] = json::array();
  for (const GraphStep& g : r.graph) {
    json ops = json::array();
    for (const GraphStep::Op& op : g.ops) ops.push_back({{"op", op.op}, {"native", op.native}, {"fallback", op.fallback}});
    j["graph"].push_back({{"step", g.step}, {"ops", ops}});
  }
  j["perf"] = json::array();
  for (const PerfResult& p : r.perf) j["perf"].push_back(perf_to_json(p));
  j["commit"] = r.commit;
  j["timestamp"] = r.timestamp;
  j["seconds"] = r.seconds;
  return j;
}

Status write_json(const Report& r, const std::string& path) {
  const json j = to_json(r);
  // Messages come from adapters and may hold bytes that are not UTF-8: replaced, never a throw.
  return write_report_file(path, j.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
}

}  // namespace dshal::conformance
