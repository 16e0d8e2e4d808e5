// Worker mode of `dshal conform` (the parent re-executes this program with --worker-fd): opens the
// device once, runs the cases it was given in-process and streams their results (protocol.hpp).
// A crash or hang here costs only this process; the parent records it and starts another worker.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "cases.hpp"
#include "harness.hpp"
#include "perf.hpp"
#include "protocol.hpp"
#include "runner.hpp"

namespace dshal::conformance {
namespace {

std::optional<double> property(const testing::TestResult& r, const char* key) {
  for (int i = 0; i < r.test_property_count(); ++i)
    if (std::string(r.GetTestProperty(i).key()) == key) return std::stod(r.GetTestProperty(i).value());
  return std::nullopt;
}

nlohmann::json opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

// Sends a start and an end event per case, with the device's op counts before and after it.
class EventListener : public testing::EmptyTestEventListener {
 public:
  EventListener(const EventWriter& out, const Device& dev) : out_(out), dev_(dev) {}

  void OnTestStart(const testing::TestInfo& t) override {
    messages_.clear();
    skip_message_.clear();
    native_ = dev_.native_counts();
    fallback_ = dev_.fallback_counts();
    out_.send({{"event", "start"}, {"name", full_name(t)}});
  }
  void OnTestPartResult(const testing::TestPartResult& r) override {
    if (r.failed() && messages_.size() < 4000)
      messages_ += fmt::format("{}{}:{}: {}", messages_.empty() ? "" : "\n", r.file_name() ? r.file_name() : "?",
                               r.line_number(), r.summary());
    if (r.skipped()) skip_message_ = r.message();
  }
  void OnTestEnd(const testing::TestInfo& t) override {
    const testing::TestResult& r = *t.result();
    const char* status = r.Skipped() ? "skipped" : r.Passed() ? "passed" : "failed";
    out_.send({{"event", "end"},
               {"name", full_name(t)},
               {"status", status},
               {"message", r.Skipped() ? skip_message_ : messages_},
               {"max_abs_err", opt(property(r, "max_abs_err"))},
               {"nmse", opt(property(r, "nmse"))},
               {"tolerance", opt(property(r, "tolerance"))},
               {"error_ratio", opt(property(r, "error_ratio"))},
               {"seconds", double(r.elapsed_time()) / 1000.0},
               {"native", op_delta(native_, dev_.native_counts())},
               {"fallback", op_delta(fallback_, dev_.fallback_counts())}});
  }

 private:
  static std::string full_name(const testing::TestInfo& t) {
    return std::string(t.test_suite_name()) + "." + t.name();
  }
  const EventWriter& out_;
  const Device& dev_;
  std::array<uint64_t, DSHAL_OP_COUNT> native_{}, fallback_{};
  std::string messages_, skip_message_;
};

// The gtest names the parent wrote to fd, one per line.
std::vector<std::string> read_case_names(int fd) {
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, size_t(n));
  }
  ::close(fd);
  std::vector<std::string> names;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) names.push_back(line);
  return names;
}

}  // namespace

int run_worker(const ConformOptions& o) {
  const EventWriter out(o.worker_fd);
  const std::vector<std::string> names = o.worker_cases_fd >= 0 ? read_case_names(o.worker_cases_fd)
                                                                 : std::vector<std::string>{};
  register_cases(o.device, o.program);
  const Device* dev = nullptr;
  try {
    dev = &device(o.device);
  } catch (const std::exception& e) {
    out.send({{"event", "hello"}, {"error", e.what()}});
    return 2;
  }
  out.send({{"event", "hello"}, {"device", properties_to_json(dev->properties())}, {"abi_version", dev->abi_version()}});

  if (!names.empty()) {
    std::string filter;
    for (const std::string& n : names) filter += (filter.empty() ? "" : ":") + n;
    testing::GTEST_FLAG(filter) = filter;
    // The parent decides what runs and in which order: gtest settings from the caller's environment
    // (GTEST_SHUFFLE, GTEST_REPEAT, sharding) would skip, reorder or repeat cases behind its back.
    testing::GTEST_FLAG(shuffle) = false;
    testing::GTEST_FLAG(repeat) = 1;
    unsetenv("GTEST_TOTAL_SHARDS");
    unsetenv("GTEST_SHARD_INDEX");
    testing::TestEventListeners& listeners = testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new EventListener(out, *dev));
    [[maybe_unused]] const int any_failed = RUN_ALL_TESTS();  // results went to the parent case by case
  }
  if (o.worker_perf) {
    run_perf(
        o.device, [&](const std::string& name) { out.send({{"event", "perf_start"}, {"name", name}}); },
        [&](const PerfResult& r) {
          nlohmann::json j = perf_to_json(r);
          j["event"] = "perf";
          out.send(j);
        },
        [&](const std::string& error) { out.send({{"event", "perf_failed"}, {"message", error}}); });
    out.send({{"event", "perf_done"}});
  }
  std::fflush(stdout);
  close_devices();
  return 0;
}

}  // namespace dshal::conformance
