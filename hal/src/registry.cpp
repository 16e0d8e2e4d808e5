// Negotiates every adapter once (built-ins, then the plugins of plugins.hpp) and records its
// devices, or why it has none.
#include "registry.hpp"

#include <fnmatch.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include <fmt/format.h>

#include "plugins.hpp"

namespace dshal::detail {
namespace {

void host_log(int level, const char* adapter, const char* message) {
  static const int threshold = [] {
    const char* v = std::getenv("DSHAL_LOG_LEVEL");
    return v ? std::atoi(v) : 2;
  }();
  if (level >= threshold) std::fprintf(stderr, "dshal[%s]: %s\n", adapter ? adapter : "?", message);
}

const dshal_host_services kHostServices{sizeof(dshal_host_services), DSHAL_ABI_VERSION, host_log};

// The mandatory slots: all must be present for an adapter to be usable.
std::string missing_mandatory_slot(const dshal_adapter_table* t) {
#define DSHAL_CHECK_SLOT(slot)                                                            \
  if (t->struct_size < offsetof(dshal_adapter_table, slot) + sizeof(t->slot) || !t->slot) \
    return #slot;
  DSHAL_CHECK_SLOT(last_error) DSHAL_CHECK_SLOT(device_count) DSHAL_CHECK_SLOT(device_open)
  DSHAL_CHECK_SLOT(device_close) DSHAL_CHECK_SLOT(device_get_properties) DSHAL_CHECK_SLOT(buffer_alloc)
  DSHAL_CHECK_SLOT(buffer_free) DSHAL_CHECK_SLOT(copy_h2d) DSHAL_CHECK_SLOT(copy_d2h)
  DSHAL_CHECK_SLOT(copy_d2d) DSHAL_CHECK_SLOT(fill) DSHAL_CHECK_SLOT(stream_create)
  DSHAL_CHECK_SLOT(stream_destroy) DSHAL_CHECK_SLOT(stream_synchronize) DSHAL_CHECK_SLOT(event_create)
  DSHAL_CHECK_SLOT(event_destroy) DSHAL_CHECK_SLOT(event_record) DSHAL_CHECK_SLOT(stream_wait_event)
  DSHAL_CHECK_SLOT(event_query) DSHAL_CHECK_SLOT(event_synchronize) DSHAL_CHECK_SLOT(gemm)
  DSHAL_CHECK_SLOT(comm_create) DSHAL_CHECK_SLOT(comm_destroy) DSHAL_CHECK_SLOT(all_to_all)
#undef DSHAL_CHECK_SLOT
  return {};
}

Adapter negotiate(const std::string& name, dshal_adapter_negotiate_fn entry) {
  Adapter a;
  a.name = name;
  const dshal_adapter_table* t = nullptr;
  const dshal_status st = entry(1, DSHAL_ABI_VERSION, &kHostServices, &t);
  if (st != DSHAL_OK || !t) {
    a.unavailable = fmt::format("negotiation failed (status {})", int(st));
    return a;
  }
  if (const std::string slot = missing_mandatory_slot(t); !slot.empty()) {
    a.unavailable = fmt::format("adapter table lacks mandatory slot '{}'", slot);
    return a;
  }
  a.table = t;
  uint32_t count = 0;
  const dshal_status cs = t->device_count(&count);
  if (cs != DSHAL_OK) {
    a.unavailable = t->last_error();
    if (a.unavailable.empty()) a.unavailable = fmt::format("device_count failed (status {})", int(cs));
  } else if (count == 0) {
    a.unavailable = "the adapter reports no device";
  }
  a.device_count = cs == DSHAL_OK ? count : 0;
  return a;
}

// Whether name matches one of the comma-separated globs of environment variable var.
bool matches_env(const char* var, const std::string& name) {
  const char* v = std::getenv(var);
  if (!v) return false;
  const std::string list = v;
  for (size_t start = 0; start <= list.size();) {
    const size_t end = std::min(list.find(',', start), list.size());
    const std::string glob = list.substr(start, end - start);
    if (!glob.empty() && fnmatch(glob.c_str(), name.c_str(), 0) == 0) return true;
    start = end + 1;
  }
  return false;
}

// Why DSHAL_ADAPTERS_SELECT / DSHAL_ADAPTERS_DISABLE leave the adapter out; "" when they do not.
std::string filtered_out(const std::string& name) {
  if (std::getenv("DSHAL_ADAPTERS_SELECT") && !matches_env("DSHAL_ADAPTERS_SELECT", name))
    return "not selected by DSHAL_ADAPTERS_SELECT";
  if (matches_env("DSHAL_ADAPTERS_DISABLE", name)) return "disabled by DSHAL_ADAPTERS_DISABLE";
  return "";
}

Adapter unavailable(const std::string& name, std::string why) {
  Adapter a;
  a.name = name;
  a.unavailable = std::move(why);
  return a;
}

// Negotiated, unless the environment filters it out or its probe says why it has no device.
Adapter admitted(const std::string& name, dshal_adapter_negotiate_fn entry, std::string (*probe)() = nullptr) {
  if (std::string why = filtered_out(name); !why.empty()) return unavailable(name, std::move(why));
  if (std::string why = probe ? probe() : ""; !why.empty()) return unavailable(name, std::move(why));
  return negotiate(name, entry);
}

}  // namespace

const std::vector<Adapter>& adapters() {
  static std::vector<Adapter> all;
  static std::once_flag once;
  std::call_once(once, [] {
    std::vector<std::string> names;
    for (const BuiltinAdapter& b : builtin_adapters()) {
      all.push_back(admitted(b.name, b.negotiate, b.probe));
      all.back().vendor = "dshal project";
      if (all.back().table) all.back().description = all.back().table->description;
      names.push_back(b.name);
    }
    for (const Plugin& p : find_plugins(manifest_folders(), names)) {
      if (!p.problem.empty()) {
        host_log(1, p.name.c_str(), p.problem.c_str());  // `dshal devices` shows it as its one line
        all.push_back(unavailable(p.name, p.problem));
      } else {
        all.push_back(admitted(p.name, p.negotiate));
      }
      Adapter& a = all.back();
      a.manifest = p.manifest;
      a.library = p.library;
      a.vendor = p.vendor;
      a.description = !p.description.empty() ? p.description : a.table ? a.table->description : "";
      a.expectations = p.expectations;
    }
  });
  return all;
}

const Adapter* find_adapter(const std::string& name) {
  for (const Adapter& a : adapters())
    if (a.name == name) return &a;
  return nullptr;
}

}  // namespace dshal::detail
