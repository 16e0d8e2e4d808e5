// Supervises the workers of an isolated run (supervise.hpp). A worker runs every case still to do;
// when it crashes or misses the deadline in a case, that case is recorded as crashed / timeout and a
// new worker takes the rest. A worker that fails between cases is replaced once; if the next one
// fails before the same case starts, that case is recorded. So every round or two finishes a case,
// and the run always ends. A failure after the last case is recorded as a result of its own.
#include "supervise.hpp"

#include <cstdio>
#include <deque>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "isolation.hpp"
#include "protocol.hpp"

namespace dshal::conformance {
namespace {

using Clock = WorkerProcess::Clock;
constexpr std::chrono::milliseconds kTermGrace{2000};  // SIGTERM, then SIGKILL

std::optional<double> number(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? std::optional<double>(j[key].get<double>()) : std::nullopt;
}

void print_status(const CaseResult& c) {
  const std::string& s = c.status;
  std::printf("%s%s (%.2f s)\n", s == "passed" ? "ok" : s == "skipped" ? "skipped" : fmt::format("{}", s).c_str(),
              c.signal.empty() ? "" : fmt::format(" ({})", c.signal).c_str(), c.seconds);
  if (s != "passed" && s != "skipped" && !c.message.empty()) std::printf("%s\n", c.message.c_str());
  std::fflush(stdout);
}

class Supervisor {
 public:
  Supervisor(const WorkerPlan& plan, const std::string& device_id) : plan_(plan), device_id_(device_id) {
    out_.results.resize(plan.cases.size());
    for (size_t i = 0; i < plan.cases.size(); ++i) {
      pending_.push_back(i);
      index_[plan.cases[i].gtest_name] = i;
      out_.results[i].id = plan.cases[i].id;
      out_.results[i].tier = plan.cases[i].tier;
    }
    perf_pending_ = plan.perf;
  }

  WorkerOutcome run() {
    while ((!pending_.empty() || perf_pending_) && out_.fatal.empty()) one_worker();
    return std::move(out_);
  }

 private:
  // One worker, from start until it ends (all done, crashed or stopped).
  void one_worker() {
    std::string list;
    for (size_t i : pending_) list += plan_.cases[i].gtest_name + "\n";
    std::vector<std::string> args = plan_.worker_args;
    if (perf_pending_) args.push_back("--worker-perf");
    WorkerProcess w;
    if (const Status st = w.start(args, list); !st.ok()) {
      out_.fatal = st.message();
      return;
    }
    current_.reset();
    in_perf_ = false;
    since_ = Clock::now();
    const auto timeout = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(plan_.timeout_seconds));
    for (;;) {
      std::string line;
      const WorkerProcess::Read r = w.next_line(since_ + timeout, &line);
      if (r == WorkerProcess::Read::kLine) {
        if (!on_event(line, &w)) return;
        continue;
      }
      const bool timed_out = r == WorkerProcess::Read::kTimeout;
      const WorkerExit ex = timed_out ? w.stop(kTermGrace) : w.wait(Clock::now() + timeout, kTermGrace);
      on_worker_end(ex, timed_out);
      return;
    }
  }

  // False when the worker cannot go on (its device does not open).
  bool on_event(const std::string& line, WorkerProcess* w) {
    const nlohmann::json ev = nlohmann::json::parse(line, nullptr, false);
    if (ev.is_discarded() || !ev.is_object()) return true;
    const std::string event = ev.value("event", "");
    since_ = Clock::now();
    if (event == "hello") {
      if (ev.contains("error")) {
        (void)w->stop(kTermGrace);
        if (!out_.device) {  // the first worker: the device never opened, there is no run
          out_.fatal = ev.value("error", "");
          return false;
        }
        // A device that opened once and no longer does (after a crash, say): the rest cannot run,
        // but what ran is kept and reported.
        const std::string why = "the device did not open again in a new worker: " + ev.value("error", "");
        while (!pending_.empty()) {
          const size_t i = pending_.front();
          print_start(i);
          out_.results[i].status = "crashed";
          out_.results[i].message = why;
          finish(i);
        }
        perf_pending_ = false;
        return false;
      }
      if (!out_.device) {
        const size_t colon = device_id_.find(':');
        out_.device = DeviceInfo{device_id_, device_id_.substr(0, colon), uint32_t(std::stoul(device_id_.substr(colon + 1))),
                                 properties_from_json(ev.value("device", nlohmann::json::object()))};
        out_.abi_version = ev.value("abi_version", 0u);
      }
    } else if (event == "start") {
      const auto it = index_.find(ev.value("name", ""));
      if (it == index_.end()) return true;
      current_ = it->second;
      print_start(it->second);
    } else if (event == "end") {
      const auto it = index_.find(ev.value("name", ""));
      if (it == index_.end()) return true;
      CaseResult& c = out_.results[it->second];
      c.status = ev.value("status", "failed");
      c.message = ev.value("message", "");
      c.max_abs_err = number(ev, "max_abs_err");
      c.nmse = number(ev, "nmse");
      c.tolerance = number(ev, "tolerance");
      c.error_ratio = number(ev, "error_ratio");
      c.seconds = ev.value("seconds", 0.0);
      c.native = op_counts_from_json(ev.value("native", nlohmann::json::object()));
      c.fallback = op_counts_from_json(ev.value("fallback", nlohmann::json::object()));
      finish(it->second);
    } else if (event == "perf_start") {
      in_perf_ = true;
      perf_name_ = ev.value("name", "");
      std::printf("[perf] %-72s ", perf_name_.c_str());
      std::fflush(stdout);
    } else if (event == "perf") {
      const PerfResult p = perf_from_json(ev);
      std::printf("%.1f GFLOP/s%s\n", p.gflops,
                  p.device_gflops ? fmt::format(" (device {:.1f} GFLOP/s)", *p.device_gflops).c_str() : "");
      std::fflush(stdout);
      out_.perf.push_back(p);
      in_perf_ = false;
    } else if (event == "perf_failed") {
      std::printf("failed: %s\n", ev.value("message", "").c_str());
      std::fflush(stdout);
      in_perf_ = false;
    } else if (event == "perf_done") {
      perf_pending_ = false;
      in_perf_ = false;
    }
    return true;
  }

  // The worker closed its pipe or missed the deadline: record what it was doing.
  void on_worker_end(const WorkerExit& ex, bool timed_out) {
    const double seconds = std::chrono::duration<double>(Clock::now() - since_).count();
    if (in_perf_) {
      std::printf("%s\n", timed_out ? "timeout" : "crashed");
      std::fprintf(stderr, "dshal conform: perf benchmark '%s': the worker %s%s; perf tier abandoned\n",
                   perf_name_.c_str(), timed_out ? "timed out and was stopped: " : "", ex.describe().c_str());
      perf_pending_ = false;
      return;
    }
    std::optional<size_t> victim = current_;
    const bool between_cases = !victim;
    if (between_cases && pending_.empty()) {
      if (perf_pending_) {  // died after its cases, before perf reported a start
        std::fprintf(stderr, "dshal conform: the worker %s before the perf tier started; perf tier abandoned\n",
                     ex.describe().c_str());
        perf_pending_ = false;
      } else if (timed_out || ex.signal != 0 || ex.code != 0) {
        record_teardown(ex, timed_out, seconds);
      }
      return;
    }
    if (between_cases && retried_before_ != pending_.front()) {
      retried_before_ = pending_.front();
      std::fprintf(stderr, "dshal conform: the worker %s%s between cases; starting another for the %zu left\n",
                   timed_out ? "hung and was stopped: " : "", ex.describe().c_str(), pending_.size());
      return;
    }
    if (between_cases) {
      victim = pending_.front();
      print_start(*victim);
    }
    CaseResult& c = out_.results[*victim];
    c.status = timed_out ? "timeout" : "crashed";
    c.signal = ex.signal_name();
    c.seconds = seconds;
    const std::string when = between_cases ? "before this case started" : "during this case";
    if (timed_out)
      c.message = fmt::format("no result within the {} s timeout ({}); the worker was stopped: {}", plan_.timeout_seconds,
                              when, ex.describe());
    else
      c.message = fmt::format("the worker process {} {}", ex.describe(), when);
    finish(*victim);
  }

  void record_teardown(const WorkerExit& ex, bool timed_out, double seconds) {
    CaseResult c;
    c.id = kTeardownCaseId;
    c.tier = "core";
    c.status = timed_out ? "timeout" : "crashed";
    c.signal = ex.signal_name();
    c.seconds = seconds;
    c.message = timed_out ? fmt::format("after its last case the worker did not exit within the {} s timeout "
                                        "(closing streams, buffers or devices?); it was stopped: {}",
                                        plan_.timeout_seconds, ex.describe())
                          : fmt::format("after its last case the worker {} (closing streams, buffers or devices?)",
                                        ex.describe());
    std::printf("[   -/%zu] %-72s ", plan_.cases.size(), c.id.c_str());
    print_status(c);
    out_.teardown = std::move(c);
  }

  void print_start(size_t i) {
    std::printf("[%4d/%zu] %-72s ", ++printed_, plan_.cases.size(), plan_.cases[i].id.c_str());
    std::fflush(stdout);
  }

  void finish(size_t i) {
    print_status(out_.results[i]);
    for (auto it = pending_.begin(); it != pending_.end(); ++it)
      if (*it == i) {
        pending_.erase(it);
        break;
      }
    current_.reset();
  }

  const WorkerPlan& plan_;
  const std::string device_id_;
  WorkerOutcome out_;
  std::deque<size_t> pending_;
  std::map<std::string, size_t> index_;
  bool perf_pending_ = false;
  std::optional<size_t> current_;
  std::optional<size_t> retried_before_;  // the case a worker was already replaced in front of
  bool in_perf_ = false;
  std::string perf_name_;
  Clock::time_point since_;
  int printed_ = 0;
};

}  // namespace

WorkerOutcome run_workers(const WorkerPlan& plan, const std::string& device_id) {
  return Supervisor(plan, device_id).run();
}

}  // namespace dshal::conformance
