// `dshal conform`: selects the cases of the tiers and filter, applies the vendor's expectations,
// runs the rest in worker processes (supervise.hpp), classifies each result and writes the reports.
#include "runner.hpp"

#include <fnmatch.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "cases.hpp"
#include "environment.hpp"
#include "expectations.hpp"
#include "graph.hpp"
#include "report.hpp"
#include "report_fields.hpp"
#include "report_html.hpp"
#include "supervise.hpp"

extern char** environ;

namespace dshal::conformance {
namespace {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:=,+-@%") ==
                        std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The command that runs a tier and filter again (one case: its tier and id): the DSHAL_* environment
// of this run (a plugin's manifest folder as DSHAL_ADAPTER_PATH), this program, the device, and the
// options that change the outcome.
std::string repro_command(const ConformOptions& o, const AdapterInfo& adapter, const std::string& tier,
                          const std::string& filter) {
  std::vector<std::string> parts;
  if (!adapter.builtin)
    parts.push_back("DSHAL_ADAPTER_PATH=" + shell_quote(std::filesystem::path(adapter.manifest).parent_path().string()));
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    if (kv.rfind("DSHAL_", 0) == 0 && kv.rfind("DSHAL_ADAPTER_PATH=", 0) != 0) parts.push_back(shell_quote(kv));
  }
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  parts.push_back(shell_quote(ec ? std::string("dshal") : exe.string()));
  parts.push_back(fmt::format("conform --device {} --tier {}", o.device, tier));
  if (!filter.empty()) parts.push_back("--filter " + shell_quote(filter));
  if (!o.expectations.empty()) parts.push_back("--expectations " + shell_quote(o.expectations));
  if (o.timeout_seconds != kDefaultCaseTimeout) parts.push_back(fmt::format("--timeout {}", o.timeout_seconds));
  parts.push_back("--report /tmp/dshal-repro");
  return fmt::format("{}", fmt::join(parts, " "));
}

// Applies an xfail entry, or marks a failure on natively run ops as claims-support-but-fails.
void classify(CaseResult* c, const std::optional<Expectation>& x) {
  if (x && x->kind == "xfail") {
    c->expectation = x;
    if (c->status == "failed" || c->status == "crashed" || c->status == "timeout") {
      c->message = fmt::format("expected failure ({}; {}): {}", c->status, x->reason, c->message);
      c->status = "xfail";
    } else if (c->status == "passed") {
      c->status = "xpass";
      c->message = fmt::format("passed, but the expectations list it as xfail ('{}': {})", x->pattern, x->reason);
    }
    return;
  }
  if (c->status == "failed" && !c->native.empty()) {
    std::vector<std::string> ops;
    for (const auto& [op, n] : c->native) ops.push_back(fmt::format("{} ({} call{})", op, n, n == 1 ? "" : "s"));
    c->message = fmt::format("the adapter ran {} natively, so it claims support, but the case failed:\n{}",
                             fmt::join(ops, ", "), c->message);
    c->status = "claims-support-but-fails";
  }
}

// An entry matching no case of the suite is a typo or outlived its case: say so, as it excuses nothing.
void warn_stale_entries(const Expectations& expectations, const std::vector<SelectedCase>& all_cases) {
  for (const Expectation& e : expectations.entries) {
    bool matches = false;
    for (const SelectedCase& c : all_cases) matches = matches || fnmatch(e.pattern.c_str(), c.id.c_str(), 0) == 0;
    if (!matches)
      std::cerr << fmt::format("dshal conform: warning: expectations file '{}': {} entry '{}' matches no case\n",
                               expectations.file, e.kind, e.pattern);
  }
}

}  // namespace

std::vector<std::string> tiers_of(const std::string& tier) {
  if (tier == "core" || tier == "ops" || tier == "model" || tier == "perf") return {tier};
  if (tier == "all") return {"core", "ops", "model", "perf"};
  return {};
}

int run_conform(const ConformOptions& o) {
  if (o.worker_fd >= 0) return run_worker(o);
  std::vector<std::string> tiers = tiers_of(o.tier);
  if (tiers.empty()) {
    std::cerr << "dshal conform: --tier '" << o.tier << "' is not one of core, ops, model, perf, all\n";
    return 2;
  }
  if (!(o.timeout_seconds > 0 && o.timeout_seconds <= kMaxCaseTimeout)) {
    std::cerr << fmt::format("dshal conform: --timeout {} must be a number of seconds above 0 and at most {:g}\n",
                             o.timeout_seconds, kMaxCaseTimeout);
    return 2;
  }
  const bool perf = std::erase(tiers, "perf") > 0;

  AdapterInfo adapter;
  if (const Status st = adapter_info(o.device.substr(0, o.device.find(':')), &adapter); !st.ok()) {
    std::cerr << "dshal conform: " << st.message() << "\n";
    return 2;
  }
  if (!o.expectations.empty()) adapter.expectations = o.expectations;
  Expectations expectations;
  if (!adapter.expectations.empty()) {
    if (const Status st = load_expectations(adapter.expectations, &expectations); !st.ok()) {
      std::cerr << "dshal conform: " << st.message() << "\n";
      return 2;
    }
  }

  register_cases(o.device, o.program);
  warn_stale_entries(expectations, select_cases(o.device, {"core", "ops", "model"}, ""));
  const std::vector<SelectedCase> selected = select_cases(o.device, tiers, o.filter);
  if (selected.empty() && !perf) {
    std::cerr << fmt::format("dshal conform: no case matches tier '{}'{}\n", o.tier,
                             o.filter.empty() ? "" : " and filter '" + o.filter + "'");
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(o.report_dir, ec);
  if (ec) {
    std::cerr << "dshal conform: cannot create report folder '" << o.report_dir << "': " << ec.message() << "\n";
    return 2;
  }

  // Unsupported cases are not run; the others go to the workers.
  WorkerPlan plan;
  plan.perf = perf;
  plan.timeout_seconds = o.timeout_seconds;
  plan.worker_args = {"conform", "--device", o.device, "--tier", o.tier, "--report", o.report_dir};
  std::vector<std::optional<Expectation>> matched;
  for (const SelectedCase& c : selected) {
    matched.push_back(expectations.match(c.id));
    if (!matched.back() || matched.back()->kind != "unsupported") plan.cases.push_back(c);
  }
  std::printf("dshal conform: %zu case(s) on %s, tier %s%s%s\n", plan.cases.size(), o.device.c_str(), o.tier.c_str(),
              selected.size() > plan.cases.size()
                  ? fmt::format(" ({} unsupported by {}, not run)", selected.size() - plan.cases.size(), adapter.expectations).c_str()
                  : "",
              perf ? ", then the perf tier" : "");
  std::fflush(stdout);

  const auto start = std::chrono::steady_clock::now();
  WorkerOutcome outcome = run_workers(plan, o.device);
  if (!outcome.fatal.empty()) {
    std::cerr << "dshal conform: " << outcome.fatal << "\n";
    return 2;
  }

  Report report;
  report.tier = o.tier;
  report.filter = o.filter;
  report.timeout_seconds = o.timeout_seconds;
  report.commit = DSHAL_COMMIT;
  report.timestamp = utc_now();
  report.environment = host_environment(adapter);
  // No worker opened the device (every case unsupported, no perf): its id is all the report has.
  report.device = outcome.device.value_or(
      DeviceInfo{o.device, adapter.name, uint32_t(std::stoul(o.device.substr(o.device.find(':') + 1))), {}});
  report.abi_version = outcome.abi_version;
  report.perf = std::move(outcome.perf);
  size_t ran = 0;
  for (size_t i = 0; i < selected.size(); ++i) {
    CaseResult c;
    if (matched[i] && matched[i]->kind == "unsupported") {
      c.id = selected[i].id;
      c.tier = selected[i].tier;
      c.status = "unsupported";
      c.message = matched[i]->reason;
      c.expectation = matched[i];
    } else {
      c = std::move(outcome.results[ran++]);
      classify(&c, matched[i]);
    }
    if (status_fails_run(c.status)) c.repro = repro_command(o, adapter, c.tier, c.id);
    report.summary.counts[c.status]++;
    for (const auto& [op, n] : c.native) report.native_calls[op] += n;
    for (const auto& [op, n] : c.fallback) report.fallback_calls[op] += n;
    report.cases.push_back(std::move(c));
  }
  if (outcome.teardown) {  // not a case of its own: rerunning it means rerunning the run
    CaseResult& c = report.cases.emplace_back(std::move(*outcome.teardown));
    c.repro = repro_command(o, adapter, o.tier, o.filter);
    report.summary.counts[c.status]++;
  }
  // The rule report readers apply to reports without the field (report_fields.hpp).
  report.tier_reached = fields::tier_reached(nlohmann::json{{"cases", to_json(report)["cases"]}});
  report.graph = deepseek_graph(report.cases);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const std::filesystem::path dir(o.report_dir);
  for (const Status& st : {write_json(report, (dir / "report.json").string()),
                           write_markdown(report, (dir / "report.md").string()),
                           write_junit(report, (dir / "junit.xml").string()),
                           write_html(to_json(report), (dir / "report.html").string())}) {
    if (!st.ok()) {
      std::cerr << "dshal conform: " << st.message() << "\n";
      return 1;
    }
  }
  std::printf("\n%s; tier reached: %s (%.1f s); reports in %s (report.html, report.json, report.md, junit.xml)\n",
              report.summary.line().c_str(),
              report.tier_reached.c_str(), report.seconds, o.report_dir.c_str());
  if (!report.fallback_calls.empty()) {
    std::printf("host fallbacks:");
    for (const auto& [op, calls] : report.fallback_calls) std::printf(" %s (%llu)", op.c_str(), (unsigned long long)calls);
    std::printf("\n");
  }
  return report.summary.failing() == 0 ? 0 : 1;
}

}  // namespace dshal::conformance
