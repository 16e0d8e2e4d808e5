// The environment fingerprint of a report: suite version, commit, ABI, OS, host CPU, compiler and
// the adapter under test.
#include "environment.hpp"

#include <sys/utsname.h>

#include <fstream>

#include <fmt/format.h>

namespace dshal::conformance {
namespace {

std::string uname_line() {
  struct utsname u {};
  if (uname(&u) != 0) return "unknown";
  return fmt::format("{} {} {}", u.sysname, u.release, u.machine);
}

// The first "model name" of /proc/cpuinfo (x86); other architectures name it differently.
std::string host_cpu() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    if (key == "model name" || key == "Model" || key == "cpu model" || key == "uarch") {
      const size_t start = line.find_first_not_of(" \t", colon + 1);
      return start == std::string::npos ? "unknown" : line.substr(start);
    }
  }
  return "unknown";
}

std::string compiler() {
#if defined(__clang__)
  return "Clang " __clang_version__;
#elif defined(__GNUC__)
  return "GCC " __VERSION__;
#else
  return "unknown";
#endif
}

}  // namespace

Environment host_environment(const AdapterInfo& adapter) {
  Environment e;
  e.suite_version = DSHAL_SUITE_VERSION;
  e.commit = DSHAL_COMMIT;
  e.abi_version = DSHAL_ABI_VERSION;
  e.os = uname_line();
  e.host_cpu = host_cpu();
  e.compiler = compiler();
  e.adapter = adapter;
  return e;
}

}  // namespace dshal::conformance
