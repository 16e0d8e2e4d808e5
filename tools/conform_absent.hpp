// `dshal conform` on a backend that has no device here (cuda on a machine without a GPU, say): the
// report folder still gets report.md, junit.xml (one skipped case) and unavailable.json, each
// giving the backend's reason, so a CI that archives reports shows why nothing ran.
#pragma once

#include <string>

namespace dshal::cli {

// When spec names a backend (with or without ":N") that reports no device, writes the reports into
// dir and returns true; false when the backend has devices or does not exist.
bool write_absent_reports(const std::string& spec, const std::string& dir);

}  // namespace dshal::cli
