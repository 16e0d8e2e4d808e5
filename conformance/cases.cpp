// Case ids and selection over gtest's registry (cases.hpp).
#include "cases.hpp"

#include <fnmatch.h>

#include <algorithm>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace dshal::conformance {
namespace {

// "core/Gemm.MatchesFp64Reference/cpu_0_f32_odd_nn" -> "core/Gemm.MatchesFp64Reference/f32_odd_nn"
std::string case_id(const testing::TestInfo& t, const std::string& device_param) {
  std::string name = t.name();
  const size_t slash = name.find('/');
  std::string param = slash == std::string::npos ? "" : name.substr(slash + 1);
  name = name.substr(0, slash);
  if (param.rfind(device_param, 0) == 0) param = param.substr(device_param.size());
  if (!param.empty() && param[0] == '_') param = param.substr(1);
  return std::string(t.test_suite_name()) + "." + name + (param.empty() ? "" : "/" + param);
}

}  // namespace

void register_cases(const std::string& device, const std::string& program) {
  set_device_ids({device});
  int argc = 1;
  std::string argv0 = program.empty() ? "dshal" : program;
  char* argv[] = {argv0.data(), nullptr};
  testing::InitGoogleTest(&argc, argv);
}

std::vector<SelectedCase> select_cases(const std::string& device, const std::vector<std::string>& tiers,
                                       const std::string& filter) {
  const std::string device_param = param_name({device, 0});
  testing::UnitTest& ut = *testing::UnitTest::GetInstance();
  std::vector<SelectedCase> selected;
  for (int i = 0; i < ut.total_test_suite_count(); ++i) {
    const testing::TestSuite& suite = *ut.GetTestSuite(i);
    for (int j = 0; j < suite.total_test_count(); ++j) {
      const testing::TestInfo& t = *suite.GetTestInfo(j);
      SelectedCase c{std::string(t.test_suite_name()) + "." + t.name(), case_id(t, device_param), ""};
      c.tier = c.id.substr(0, c.id.find('/'));
      if (std::find(tiers.begin(), tiers.end(), c.tier) == tiers.end()) continue;
      if (!filter.empty() && fnmatch(filter.c_str(), c.id.c_str(), 0) != 0) continue;
      selected.push_back(std::move(c));
    }
  }
  return selected;
}

}  // namespace dshal::conformance
