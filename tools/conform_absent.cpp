// conform_absent.hpp: the reports of a conformance run that could not start for want of a device.
#include "conform_absent.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>

#include <dshal/dshal.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "report_html_util.hpp"

namespace dshal::cli {

bool write_absent_reports(const std::string& spec, const std::string& dir) {
  const std::string backend = spec.substr(0, spec.find(':'));
  std::vector<BackendInfo> backends;
  if (!list_backends(&backends).ok()) return false;
  const BackendInfo* b = nullptr;
  for (const BackendInfo& x : backends)
    if (x.name == backend && x.device_count == 0) b = &x;
  if (!b) return false;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string id = spec.find(':') == std::string::npos ? spec + ":0" : spec;
  const std::filesystem::path d(dir);
  std::ofstream(d / "unavailable.json") << nlohmann::json{{"device", id}, {"backend", b->name}, {"available", false},
                                                          {"reason", b->unavailable}, {"cases_run", 0}}
                                               .dump(2)
                                        << "\n";
  std::ofstream(d / "report.md") << fmt::format("# dshal conformance: {}\n\nNo device: {}\n\nNo case was run.\n", id,
                                                b->unavailable);
  const std::string why = conformance::html::esc(b->unavailable);
  std::ofstream(d / "junit.xml") << fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"1\">\n"
      "  <testsuite name=\"{0}\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"1\">\n"
      "    <testcase classname=\"{0}\" name=\"DeviceAvailable\"><skipped message=\"{1}\"/></testcase>\n"
      "  </testsuite>\n</testsuites>\n",
      conformance::html::esc(id), why);
  std::cerr << fmt::format("dshal conform: {} has no device: {}; wrote {}/report.md, junit.xml (skipped) and "
                           "unavailable.json\n",
                           id, b->unavailable, dir);
  return true;
}

}  // namespace dshal::cli
