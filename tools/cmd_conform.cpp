// `dshal conform`: the conformance suite on one device, isolated per case, with reports.
#include <iostream>

#include <dshal/dshal.hpp>

#include "commands.hpp"
#include "conform_absent.hpp"
#include "process_comm.hpp"
#include "runner.hpp"

namespace dshal::cli {

void add_conform_command(CLI::App& app, int* exit_code, const char* argv0) {
  auto* cmd = app.add_subcommand(
      "conform", "Run the conformance suite on a device and write report.html, report.json, report.md, junit.xml");
  auto opts = std::make_shared<conformance::ConformOptions>();
  auto device = std::make_shared<std::string>();
  cmd->add_option("--device", *device, "Device id (cpu:0, opencl:0, <adapter>:N, auto); default: $DSHAL_DEVICE or auto");
  cmd->add_option("--tier", opts->tier, "core | ops | model | perf | all")->default_val("all");
  cmd->add_option("--report", opts->report_dir, "Folder for the reports")->required();
  cmd->add_option("--filter", opts->filter, "Glob over case ids, e.g. 'core/Gemm*'");
  cmd->add_option("--timeout", opts->timeout_seconds, "Seconds a case may run before it is stopped and recorded as timeout")
      ->default_val(conformance::kDefaultCaseTimeout);
  cmd->add_option("--expectations", opts->expectations,
                  "Vendor expectations YAML (unsupported / xfail entries); overrides the adapter manifest's");
  // Worker mode: the parent re-executes this program with these; not for people.
  cmd->add_option("--worker-fd", opts->worker_fd)->group("");
  cmd->add_option("--worker-cases-fd", opts->worker_cases_fd)->group("");
  cmd->add_flag("--worker-perf", opts->worker_perf)->group("");
  cmd->callback([=] {
    std::vector<std::string> ids;
    const std::string spec = device->empty() ? device_spec_from_env("auto") : *device;
    // A backend without a device here (cuda without a GPU): its reason goes into the report folder.
    if (write_absent_reports(spec, opts->report_dir)) {
      *exit_code = kUsage;
      return;
    }
    if (!resolve_devices(spec, &ids)) {
      *exit_code = kUsage;
      return;
    }
    if (ids.size() != 1) {
      std::cerr << "dshal conform: --device takes one device; run once per device\n";
      *exit_code = kUsage;
      return;
    }
    opts->device = ids[0];
    opts->program = argv0;
    *exit_code = conformance::run_conform(*opts);
  });

  // The peer process the case core/ProcessComm starts (conformance/process_comm.hpp); not for people.
  auto* peer = app.add_subcommand("comm-peer", "")->group("");
  auto peer_device = std::make_shared<std::string>();
  auto peer_id = std::make_shared<std::string>();
  auto rank = std::make_shared<uint32_t>(), size = std::make_shared<uint32_t>();
  peer->add_option("--device", *peer_device)->required();
  peer->add_option("--id", *peer_id)->required();
  peer->add_option("--rank", *rank)->required();
  peer->add_option("--size", *size)->required();
  peer->callback([=] { *exit_code = conformance::run_comm_peer(*peer_device, *peer_id, *rank, *size); });
}

}  // namespace dshal::cli
