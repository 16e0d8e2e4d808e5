// The environment fingerprint a report carries (report.hpp's Environment).
#pragma once

#include "report.hpp"

namespace dshal::conformance {

// This build and host, with the adapter under test (the expectations path as the run uses it).
Environment host_environment(const AdapterInfo& adapter);

}  // namespace dshal::conformance
