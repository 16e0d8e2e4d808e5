// `dshal devices [--json]`: every device with its properties, and why a backend has none.
#include <cstdio>
#include <iostream>

#include <dshal/dshal.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "report.hpp"

namespace dshal::cli {

namespace {

int run_devices(bool json) {
  std::vector<BackendInfo> backends;
  std::vector<DeviceInfo> devices;
  (void)list_backends(&backends);
  if (const Status st = list_devices(&devices); !st.ok()) {
    std::cerr << "dshal devices: " << st.message() << "\n";
    return kFailed;
  }
  if (json) {
    nlohmann::json j;
    j["devices"] = nlohmann::json::array();
    for (const DeviceInfo& d : devices) {
      const dshal_device_properties& p = d.properties;
      nlohmann::json dev = conformance::property_fields(p);
      dev["id"] = d.id;
      dev["backend"] = d.backend;
      dev["gemm_dtypes"] = conformance::dtype_list(p.gemm_dtypes);
      dev["storage_dtypes"] = conformance::dtype_list(p.storage_dtypes);
      dev["host_shared_memory"] = bool(p.flags & DSHAL_DEVICE_HOST_SHARED_MEMORY);
      j["devices"].push_back(std::move(dev));
    }
    j["unavailable"] = nlohmann::json::array();
    for (const BackendInfo& b : backends)
      if (b.device_count == 0) j["unavailable"].push_back({{"backend", b.name}, {"reason", b.unavailable}});
    std::cout << j.dump(2) << "\n";
    return kOk;
  }
  for (const DeviceInfo& d : devices) {
    const dshal_device_properties& p = d.properties;
    std::cout << fmt::format("{:<12} {}  [{}; {:.1f} GiB; max alloc {:.1f} GiB; align {}; {} units; gemm {}]\n", d.id,
                             p.name, p.vendor, double(p.memory_bytes) / (1ull << 30),
                             double(p.max_alloc_bytes) / (1ull << 30), p.alignment, p.compute_units,
                             conformance::dtype_list(p.gemm_dtypes));
  }
  for (const BackendInfo& b : backends)
    if (b.device_count == 0) std::cout << fmt::format("{:<12} no device: {}\n", b.name + ":-", b.unavailable);
  return kOk;
}

}  // namespace

void add_devices_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("devices", "List the devices every backend offers, and why a backend has none");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print JSON instead of a table");
  cmd->callback([=] { *exit_code = run_devices(*json); });
}

}  // namespace dshal::cli
