// `dshal report html REPORT.json [-o OUT.html]` regenerates the porting report page;
// `dshal report diff OLD.json NEW.json [--json]` lists what changed between two runs.
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "report_diff.hpp"
#include "report_html.hpp"
#include "report_load.hpp"

namespace dshal::cli {
namespace {

void add_html_command(CLI::App& report, int* exit_code) {
  auto* cmd = report.add_subcommand("html", "Write report.html (self-contained) from a report.json");
  auto input = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  cmd->add_option("REPORT", *input, "report.json written by `dshal conform`")->required();
  cmd->add_option("-o,--output", *output, "Output file; default: report.html next to REPORT");
  cmd->callback([=] {
    nlohmann::json report;
    Status st = conformance::load_report(*input, &report);
    if (st.ok()) st = conformance::check_fields(*input, report);
    const std::string out =
        output->empty() ? (std::filesystem::path(*input).parent_path() / "report.html").string() : *output;
    if (st.ok()) st = conformance::write_html(report, out);
    if (!st.ok()) {
      std::cerr << "dshal report html: " << st.message() << "\n";
      *exit_code = kUsage;
      return;
    }
    std::cout << "wrote " << out << "\n";
    *exit_code = kOk;
  });
}

void add_diff_command(CLI::App& report, int* exit_code) {
  auto* cmd = report.add_subcommand(
      "diff", "List what changed between two report.json files; exit 1 when NEW has regressions");
  auto paths = std::make_shared<std::vector<std::string>>();
  auto as_json = std::make_shared<bool>(false);
  auto options = std::make_shared<conformance::DiffOptions>();
  cmd->add_option("OLD_NEW", *paths, "OLD.json NEW.json")->required()->expected(2);
  cmd->add_flag("--json", *as_json, "Print the differences as JSON");
  cmd->add_option("--ratio-factor", options->ratio_factor,
                  "List a passing case's error/tolerance change beyond this factor")
      ->default_val(2.0)
      ->check(CLI::Range(1.0, 1e12));
  cmd->callback([=] {
    nlohmann::json old_report, new_report;
    for (auto [path, doc] : {std::pair{(*paths)[0], &old_report}, std::pair{(*paths)[1], &new_report}}) {
      Status st = conformance::load_report(path, doc);
      if (st.ok()) st = conformance::check_fields(path, *doc);
      if (!st.ok()) {
        std::cerr << "dshal report diff: " << st.message() << "\n";
        *exit_code = kUsage;
        return;
      }
    }
    const nlohmann::json diff = conformance::diff_reports(old_report, new_report, *options);
    if (*as_json) {
      nlohmann::json out = diff;
      out["old"] = (*paths)[0];
      out["new"] = (*paths)[1];
      std::cout << out.dump(2) << "\n";
    } else {
      std::cout << conformance::diff_text(diff, (*paths)[0], (*paths)[1]);
    }
    *exit_code = diff["has_regressions"].get<bool>() ? kFailed : kOk;
  });
}

}  // namespace

void add_report_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("report", "Work with report.json files: regenerate report.html, diff two runs");
  cmd->require_subcommand(1);
  add_html_command(*cmd, exit_code);
  add_diff_command(*cmd, exit_code);
}

}  // namespace dshal::cli
