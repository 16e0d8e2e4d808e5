// `dshal conform`: selects the cases of a tier and filter, runs them with a listener that prints
// progress and collects results, then writes the reports.
#include "runner.hpp"

#include <fnmatch.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "harness.hpp"
#include "report.hpp"

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

std::string tier_of(const std::string& id) { return id.substr(0, id.find('/')); }

std::optional<double> property(const testing::TestResult& r, const char* key) {
  for (int i = 0; i < r.test_property_count(); ++i)
    if (std::string(r.GetTestProperty(i).key()) == key) return std::stod(r.GetTestProperty(i).value());
  return std::nullopt;
}

class Collector : public testing::EmptyTestEventListener {
 public:
  Collector(Report* report, std::string device_param, int total)
      : report_(report), device_param_(std::move(device_param)), total_(total) {}

  void OnTestStart(const testing::TestInfo& t) override {
    std::printf("[%4d/%d] %-72s ", ++done_, total_, case_id(t, device_param_).c_str());
    std::fflush(stdout);
  }
  void OnTestPartResult(const testing::TestPartResult& r) override {
    if (r.failed() && messages_.size() < 4000) {
      messages_ += fmt::format("{}{}:{}: {}", messages_.empty() ? "" : "\n", r.file_name() ? r.file_name() : "?",
                               r.line_number(), r.summary());
    }
    if (r.skipped()) skip_message_ = r.message();
  }
  void OnTestEnd(const testing::TestInfo& t) override {
    const testing::TestResult& r = *t.result();
    CaseResult c;
    c.id = case_id(t, device_param_);
    c.tier = tier_of(c.id);
    c.status = r.Skipped() ? "skipped" : r.Passed() ? "passed" : "failed";
    c.message = c.status == "skipped" ? skip_message_ : messages_;
    c.max_abs_err = property(r, "max_abs_err");
    c.nmse = property(r, "nmse");
    c.tolerance = property(r, "tolerance");
    c.error_ratio = property(r, "error_ratio");
    c.seconds = double(r.elapsed_time()) / 1000.0;
    Summary& s = report_->summary;
    (c.status == "passed" ? s.passed : c.status == "skipped" ? s.skipped : s.failed)++;
    std::printf("%s (%.2f s)\n", c.status == "passed" ? "ok" : c.status == "skipped" ? "skipped" : "FAILED", c.seconds);
    if (c.status == "failed") std::printf("%s\n", c.message.c_str());
    std::fflush(stdout);
    report_->cases.push_back(std::move(c));
    messages_.clear();
    skip_message_.clear();
  }

 private:
  Report* report_;
  std::string device_param_;
  int total_;
  int done_ = 0;
  std::string messages_, skip_message_;
};

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace

std::string tier_prefixes(const std::string& tier) {
  if (tier == "core" || tier == "ops" || tier == "model") return tier;
  if (tier == "all") return "core,ops,model";
  return {};
}

int run_conform(const ConformOptions& o) {
  const std::string prefixes = tier_prefixes(o.tier);
  if (prefixes.empty()) {
    std::cerr << "dshal conform: --tier '" << o.tier << "' is not one of core, ops, model, all\n";
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(o.report_dir, ec);
  if (ec) {
    std::cerr << "dshal conform: cannot create report folder '" << o.report_dir << "': " << ec.message() << "\n";
    return 2;
  }

  set_device_ids({o.device});
  int argc = 1;
  std::string program = o.program.empty() ? "dshal" : o.program;
  char* argv[] = {program.data(), nullptr};
  testing::InitGoogleTest(&argc, argv);

  // Select by tier and glob over case ids; gtest then runs exactly those.
  const std::string device_param = param_name({o.device, 0});
  testing::UnitTest& ut = *testing::UnitTest::GetInstance();
  std::vector<std::string> selected;
  for (int i = 0; i < ut.total_test_suite_count(); ++i) {
    const testing::TestSuite& suite = *ut.GetTestSuite(i);
    for (int j = 0; j < suite.total_test_count(); ++j) {
      const testing::TestInfo& t = *suite.GetTestInfo(j);
      const std::string id = case_id(t, device_param);
      if (prefixes.find(tier_of(id)) == std::string::npos) continue;
      if (!o.filter.empty() && fnmatch(o.filter.c_str(), id.c_str(), 0) != 0) continue;
      selected.push_back(std::string(t.test_suite_name()) + "." + t.name());
    }
  }
  if (selected.empty()) {
    std::cerr << fmt::format("dshal conform: no case matches tier '{}'{}\n", o.tier,
                             o.filter.empty() ? "" : " and filter '" + o.filter + "'");
    return 2;
  }
  testing::GTEST_FLAG(filter) = fmt::format("{}", fmt::join(selected, ":"));

  Report report;
  report.tier = o.tier;
  report.filter = o.filter;
  report.commit = DSHAL_COMMIT;
  report.timestamp = utc_now();
  try {
    const Device& dev = device(o.device);
    report.device = {dev.id(), dev.backend(), 0, dev.properties()};
    report.abi_version = dev.abi_version();
  } catch (const std::exception& e) {
    std::cerr << "dshal conform: " << e.what() << "\n";
    return 2;
  }
  std::printf("dshal conform: %zu case(s) on %s (%s), tier %s\n", selected.size(), o.device.c_str(),
              report.device.properties.name, o.tier.c_str());

  testing::TestEventListeners& listeners = ut.listeners();
  delete listeners.Release(listeners.default_result_printer());
  listeners.Append(new Collector(&report, device_param, int(selected.size())));
  const auto start = std::chrono::steady_clock::now();
  const int gtest_rc = RUN_ALL_TESTS();  // failures are counted by the Collector
  (void)gtest_rc;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const std::array<uint64_t, DSHAL_OP_COUNT> fb = device(o.device).fallback_counts();
  for (int op = 0; op < DSHAL_OP_COUNT; ++op)
    if (fb[op] > 0) report.fallbacks.emplace_back(op_name(static_cast<dshal_op>(op)), fb[op]);
  close_devices();

  const std::filesystem::path dir(o.report_dir);
  for (const Status& st : {write_json(report, (dir / "report.json").string()),
                           write_markdown(report, (dir / "report.md").string()),
                           write_junit(report, (dir / "junit.xml").string())}) {
    if (!st.ok()) {
      std::cerr << "dshal conform: " << st.message() << "\n";
      return 1;
    }
  }
  const Summary& s = report.summary;
  std::printf("\n%d passed, %d failed, %d skipped (%.1f s); reports in %s\n", s.passed, s.failed, s.skipped,
              report.seconds, o.report_dir.c_str());
  if (!report.fallbacks.empty()) {
    std::printf("host fallbacks:");
    for (const auto& [op, calls] : report.fallbacks) std::printf(" %s (%llu)", op.c_str(), (unsigned long long)calls);
    std::printf("\n");
  }
  return (s.failed + s.crashed + s.xpass) == 0 ? 0 : 1;
}

}  // namespace dshal::conformance
