// Vendor expectations: a YAML file beside an adapter's manifest (its `expectations:` field) or given
// with `dshal conform --expectations FILE`, listing cases the adapter does not support and cases
// known to fail, each a glob over case ids with a mandatory reason:
//   unsupported:
//     - case: "ops/Attention.*"
//       reason: "no MLA kernel yet"
//   xfail:
//     - case: "core/Gemm.MatchesFp64Reference/f32_*"
//       reason: "..."
#pragma once

#include <dshal/dshal.hpp>

#include <optional>
#include <string>
#include <vector>

#include "report.hpp"

namespace dshal::conformance {

struct Expectations {
  std::string file;  // where they came from ("" when none)
  std::vector<Expectation> entries;  // unsupported entries first, each list in file order

  // The first unsupported entry matching the case id, else the first xfail entry; nullopt when none.
  std::optional<Expectation> match(const std::string& case_id) const;
};

// Reads and checks the file; a malformed one gives INVALID_ARGUMENT naming the file and the entry
// (list, index, field).
Status load_expectations(const std::string& file, Expectations* out);

}  // namespace dshal::conformance
