// Device ids: listing, the one parser every tool uses ("cpu:1", "auto", comma lists), and opening.
#include <dshal/dshal.hpp>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

#include "objects.hpp"
#include "registry.hpp"

namespace dshal {
namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// "Available devices: cpu:0, cpu:1. Without devices: opencl (no ICD found)."
std::string availability() {
  std::vector<std::string> ids, absent;
  for (const detail::Adapter& a : detail::adapters()) {
    for (uint32_t i = 0; i < a.device_count; ++i) ids.push_back(fmt::format("{}:{}", a.name, i));
    if (a.device_count == 0) absent.push_back(fmt::format("{} ({})", a.name, a.unavailable));
  }
  std::string s = "available devices: " + (ids.empty() ? std::string("none") : fmt::format("{}", fmt::join(ids, ", ")));
  if (!absent.empty()) s += fmt::format("; backends without devices: {}", fmt::join(absent, "; "));
  return s;
}

// The priority of "auto": accelerators first, the host last.
std::string auto_device() {
  for (const char* name : {"cuda", "vulkan", "opencl"})
    if (const detail::Adapter* a = detail::find_adapter(name); a && a->device_count > 0) return fmt::format("{}:0", name);
  std::vector<std::string> plugins;
  for (const detail::Adapter& a : detail::adapters())
    if (a.device_count > 0 && a.name != "cpu") plugins.push_back(a.name);
  std::sort(plugins.begin(), plugins.end());
  if (!plugins.empty()) return plugins.front() + ":0";
  return "cpu:0";
}

Status resolve_one(const std::string& entry, std::string* id) {
  if (entry == "auto") {
    *id = auto_device();
    return {};
  }
  const size_t colon = entry.find(':');
  const std::string name = entry.substr(0, colon);
  uint32_t index = 0;
  if (colon != std::string::npos) {
    const std::string num = entry.substr(colon + 1);
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), index);
    if (num.empty() || ec != std::errc() || p != num.data() + num.size())
      return Status(DSHAL_ERROR_NOT_FOUND,
                    fmt::format("device id '{}': '{}' is not a device index; {}", entry, num, availability()));
  }
  const detail::Adapter* a = detail::find_adapter(name);
  if (!a)
    return Status(DSHAL_ERROR_NOT_FOUND, fmt::format("unknown device '{}': no backend '{}'; {}", entry, name, availability()));
  if (a->device_count == 0)
    return Status(DSHAL_ERROR_NOT_FOUND,
                  fmt::format("device '{}' is unavailable: backend '{}' has no device ({}); {}", entry, name,
                              a->unavailable, availability()));
  if (index >= a->device_count)
    return Status(DSHAL_ERROR_NOT_FOUND, fmt::format("device '{}' does not exist: backend '{}' has {} device(s); {}",
                                                     entry, name, a->device_count, availability()));
  *id = fmt::format("{}:{}", name, index);
  return {};
}

}  // namespace

Status list_backends(std::vector<BackendInfo>* out) {
  out->clear();
  for (const detail::Adapter& a : detail::adapters())
    out->push_back({a.name, a.table ? a.table->description : "", a.device_count, a.unavailable});
  return {};
}

Status adapter_info(std::string_view name, AdapterInfo* out) {
  const detail::Adapter* a = detail::find_adapter(std::string(name));
  if (!a) return Status(DSHAL_ERROR_NOT_FOUND, fmt::format("no adapter named '{}'; {}", name, availability()));
  *out = AdapterInfo{a->name, a->manifest.empty(), a->manifest, a->library, a->vendor, a->description, a->expectations};
  return {};
}

Status list_devices(std::vector<DeviceInfo>* out) {
  out->clear();
  for (const detail::Adapter& a : detail::adapters()) {
    for (uint32_t i = 0; i < a.device_count; ++i) {
      Device d;
      DSHAL_RETURN_IF_ERROR(open_device(fmt::format("{}:{}", a.name, i), &d));
      out->push_back({d.id(), a.name, i, d.properties()});
    }
  }
  return {};
}

Status resolve_device_ids(std::string_view spec, std::vector<std::string>* ids) {
  ids->clear();
  std::string rest(spec);
  if (trim(rest).empty()) return Status(DSHAL_ERROR_NOT_FOUND, "empty device id; " + availability());
  size_t start = 0;
  while (start <= rest.size()) {
    const size_t comma = std::min(rest.find(',', start), rest.size());
    const std::string entry = trim(std::string_view(rest).substr(start, comma - start));
    if (entry.empty())
      return Status(DSHAL_ERROR_NOT_FOUND, fmt::format("device list '{}' has an empty entry; {}", spec, availability()));
    std::string id;
    DSHAL_RETURN_IF_ERROR(resolve_one(entry, &id));
    if (std::find(ids->begin(), ids->end(), id) != ids->end())
      return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("device list '{}' names {} twice", spec, id));
    ids->push_back(id);
    start = comma + 1;
  }
  return {};
}

std::string device_spec_from_env(std::string_view fallback) {
  const char* v = std::getenv("DSHAL_DEVICE");
  return (v && *v) ? std::string(v) : std::string(fallback);
}

Status open_device(std::string_view spec, Device* out) {
  *out = Device();
  std::vector<std::string> ids;
  DSHAL_RETURN_IF_ERROR(resolve_device_ids(spec, &ids));
  if (ids.size() != 1)
    return Status(DSHAL_ERROR_INVALID_ARGUMENT, fmt::format("open_device takes one device, got '{}'", spec));
  const std::string& id = ids[0];
  const size_t colon = id.find(':');
  const detail::Adapter* a = detail::find_adapter(id.substr(0, colon));
  const uint32_t index = uint32_t(std::stoul(id.substr(colon + 1)));

  auto* obj = new detail::DeviceObj;
  obj->adapter = a;
  obj->table = a->table;
  obj->index = index;
  obj->id = id;
  obj->backend = a->name;
  if (dshal_status st = a->table->device_open(index, &obj->handle); st != DSHAL_OK) {
    delete obj;
    return detail::adapter_status(a->table, st, ("opening " + id).c_str());
  }
  obj->props.struct_size = sizeof(obj->props);
  if (dshal_status st = a->table->device_get_properties(obj->handle, &obj->props); st != DSHAL_OK) {
    a->table->device_close(obj->handle);
    delete obj;
    return detail::adapter_status(a->table, st, ("properties of " + id).c_str());
  }
  detail::register_live(obj);
  *out = Device(obj);
  return {};
}

}  // namespace dshal
