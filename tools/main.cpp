// dshal: the command-line tool (devices, conform, bench, run, make-model, report).
#include <iostream>

#include <dshal/dshal.hpp>

#include "commands.hpp"

namespace dshal::cli {

bool resolve_devices(const std::string& spec, std::vector<std::string>* ids) {
  const Status st = resolve_device_ids(spec, ids);
  if (!st.ok()) {
    std::cerr << "dshal: " << st.message() << "\n";
    return false;
  }
  return true;
}

}  // namespace dshal::cli

int main(int argc, char** argv) {
  using namespace dshal::cli;
  CLI::App app{"dshal: run DeepSeek MoE models on any accelerator, and prove a device with the conformance suite"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "dshal " DSHAL_VERSION_STRING);
  int exit_code = kOk;
  add_devices_command(app, &exit_code);
  add_conform_command(app, &exit_code, argv[0]);
  add_bench_command(app, &exit_code);
  add_run_command(app, &exit_code);
  add_make_model_command(app, &exit_code);
  add_report_command(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsage;
  }
  return exit_code;
}
