// The cases of a run: gtest's registered tests for one device, named by case id
// ("core/Gemm.MatchesFp64Reference/f32_odd_nn") and selected by tier and glob. Registration does
// not open the device, so the parent of an isolated run can select without touching it.
#pragma once

#include <string>
#include <vector>

namespace dshal::conformance {

struct SelectedCase {
  std::string gtest_name;  // "core/Gemm.MatchesFp64Reference/cpu_0_f32_odd_nn", for --gtest_filter
  std::string id;          // the case id reports use
  std::string tier;        // core | ops | model
};

// Registers the cases for device (set_device_ids + testing::InitGoogleTest with program as argv[0]).
// Call once per process, before anything else of gtest.
void register_cases(const std::string& device, const std::string& program);

// The registered cases whose tier is in tiers and whose id matches filter (a glob; "" for all), in
// registration order (the order gtest runs them).
std::vector<SelectedCase> select_cases(const std::string& device, const std::vector<std::string>& tiers,
                                       const std::string& filter);

}  // namespace dshal::conformance
