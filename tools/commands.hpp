// The dshal CLI's subcommands: each registers its options on the app and returns its exit code
// through *exit_code when it runs.
#pragma once

#include <CLI/CLI.hpp>

namespace dshal::cli {

// Exit codes, documented in README.md.
enum ExitCode : int { kOk = 0, kFailed = 1, kUsage = 2 };

void add_devices_command(CLI::App& app, int* exit_code);
void add_conform_command(CLI::App& app, int* exit_code, const char* argv0);
void add_bench_command(CLI::App& app, int* exit_code);
void add_run_command(CLI::App& app, int* exit_code);
void add_make_model_command(CLI::App& app, int* exit_code);
void add_report_command(CLI::App& app, int* exit_code);

// Resolves a --device value (or DSHAL_DEVICE) to device ids; on failure prints the message and
// returns false (the caller exits with kUsage).
bool resolve_devices(const std::string& spec, std::vector<std::string>* ids);

}  // namespace dshal::cli
