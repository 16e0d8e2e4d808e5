// The worker -> parent event lines of an isolated conformance run (protocol.hpp).
#include "protocol.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dshal::conformance {
namespace {

void copy_string(char* dst, size_t size, const std::string& s) {
  std::strncpy(dst, s.c_str(), size - 1);
  dst[size - 1] = '\0';
}

std::optional<double> opt_number(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? std::optional<double>(j[key].get<double>()) : std::nullopt;
}

}  // namespace

void EventWriter::send(const nlohmann::json& event) const {
  const std::string line = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the parent is gone; the worker dies with it (PR_SET_PDEATHSIG)
    done += size_t(n);
  }
}

nlohmann::json properties_to_json(const dshal_device_properties& p) {
  nlohmann::json j = property_fields(p);
  j["gemm_dtypes"] = p.gemm_dtypes;  // masks: properties_from_json restores them exactly
  j["storage_dtypes"] = p.storage_dtypes;
  j["flags"] = p.flags;
  return j;
}

dshal_device_properties properties_from_json(const nlohmann::json& j) {
  dshal_device_properties p{};
  p.struct_size = sizeof(p);
  copy_string(p.name, sizeof(p.name), j.value("name", ""));
  copy_string(p.vendor, sizeof(p.vendor), j.value("vendor", ""));
  copy_string(p.driver_version, sizeof(p.driver_version), j.value("driver_version", ""));
  p.memory_bytes = j.value("memory_bytes", uint64_t(0));
  p.max_alloc_bytes = j.value("max_alloc_bytes", uint64_t(0));
  p.max_buffer_range = j.value("max_buffer_range", uint64_t(0));
  p.alignment = j.value("alignment", 0u);
  p.compute_units = j.value("compute_units", 0u);
  p.gemm_dtypes = j.value("gemm_dtypes", 0u);
  p.storage_dtypes = j.value("storage_dtypes", 0u);
  p.flags = j.value("flags", 0u);
  return p;
}

nlohmann::json op_delta(const std::array<uint64_t, DSHAL_OP_COUNT>& before,
                        const std::array<uint64_t, DSHAL_OP_COUNT>& after) {
  nlohmann::json j = nlohmann::json::object();
  for (int op = 0; op < DSHAL_OP_COUNT; ++op)
    if (after[op] > before[op]) j[op_name(static_cast<dshal_op>(op))] = after[op] - before[op];
  return j;
}

OpCounts op_counts_from_json(const nlohmann::json& j) {
  OpCounts c;
  if (j.is_object())
    for (const auto& [op, n] : j.items())
      if (n.is_number_unsigned() && n.get<uint64_t>() > 0) c[op] = n.get<uint64_t>();
  return c;
}

nlohmann::json perf_to_json(const PerfResult& p) {
  auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  return {{"name", p.name},         {"op", p.op},       {"dtype", p.dtype},
          {"m", p.m},               {"n", p.n},         {"k", p.k},
          {"flop", p.flop},         {"wall_seconds", p.wall_seconds},
          {"device_seconds", opt(p.device_seconds)},    {"gflops", p.gflops},
          {"device_gflops", opt(p.device_gflops)}};
}

PerfResult perf_from_json(const nlohmann::json& j) {
  PerfResult p;
  p.name = j.value("name", "");
  p.op = j.value("op", "");
  p.dtype = j.value("dtype", "");
  p.m = j.value("m", uint64_t(0));
  p.n = j.value("n", uint64_t(0));
  p.k = j.value("k", uint64_t(0));
  p.flop = j.value("flop", 0.0);
  p.wall_seconds = j.value("wall_seconds", 0.0);
  p.gflops = j.value("gflops", 0.0);
  p.device_seconds = opt_number(j, "device_seconds");
  p.device_gflops = opt_number(j, "device_gflops");
  return p;
}

}  // namespace dshal::conformance
