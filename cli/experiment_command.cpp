// gradscope experiment list | run NAME... | all: the article's claims, each measured with its
// figures, data and verdicts written under --out (layout: experiments/experiment.hpp), then a
// verdict table. Exit 0 when every verdict passes, 1 when one fails, 2 on bad input.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "command.hpp"
#include "gradscope/experiments/registry.hpp"
#include "gradscope/experiments/run_directory.hpp"
#include "progress.hpp"

namespace gradscope::cli {

namespace {

struct ExperimentOptions {
  std::vector<std::string> names;
  bool quick = false;
  std::string out = "out/experiments";
  std::uint64_t seed = 0;
  bool json = false;
};

int run_list(bool json) {
  const std::vector<std::unique_ptr<Experiment>> experiments = make_experiments();
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& e : experiments) {
      list.push_back({{"name", e->name()},
                      {"title", e->title()},
                      {"claim", e->claim()},
                      {"source", e->source()}});
    }
    std::cout << list.dump() << '\n';
    return kExitOk;
  }
  for (const auto& e : experiments) fmt::print("{:<16}  {}\n", e->name(), e->title());
  return kExitOk;
}

// The expectation as a reader states it: "0.0458 +- 1e-06", "<= 0.7", ">= 0.9".
std::string expectation(const Verdict& v) {
  switch (v.comparison) {
    case Comparison::kWithin:
      return fmt::format("{:.6g} +- {:g}", v.expected, v.tolerance);
    case Comparison::kAtMost:
      return fmt::format("<= {:.6g}", v.expected + v.tolerance);
    case Comparison::kAtLeast:
      return fmt::format(">= {:.6g}", v.expected - v.tolerance);
  }
  return {};
}

void print_verdicts(const std::string& experiment, const std::vector<Verdict>& verdicts) {
  for (const Verdict& v : verdicts) {
    fmt::print("  {}  {:<16}  {:<34}  measured {:<12.6g} expected {}  {}\n",
               v.pass ? "PASS" : "FAIL", experiment, v.name, v.measured, expectation(v), v.units);
  }
}

int run_experiments(const ExperimentOptions& options,
                    std::vector<std::unique_ptr<Experiment>> experiments) {
  const std::filesystem::path out(options.out);
  nlohmann::json results = nlohmann::json::array();
  bool all_pass = true;
  for (const std::unique_ptr<Experiment>& experiment : experiments) {
    std::optional<Progress> progress;
    long shown_total = -1;
    const auto on_progress = [&](long done, long total) {
      if (total != shown_total) {
        progress.emplace(experiment->name(), total, std::max(1L, total / 10));
        shown_total = total;
      }
      progress->update(done);
    };
    const ExperimentRun run =
        run_experiment(*experiment, out, options.quick, options.seed, on_progress);
    if (progress) progress->finish();
    all_pass = all_pass && run.result.passed();
    results.push_back(run.record);
    if (!options.json) print_verdicts(experiment->name(), run.result.verdicts);
  }
  const nlohmann::json verdicts = write_verdicts(out);
  if (options.json) {
    std::cout
        << nlohmann::json{{"out", out.string()}, {"pass", all_pass}, {"results", results}}.dump()
        << '\n';
  } else {
    fmt::print("{}: results in {}/ (all verdicts: {}/verdicts.json)\n",
               all_pass ? "every verdict passes" : "SOME VERDICTS FAIL", out.string(),
               out.string());
    fmt::print("report: gradscope report {} -o report.html\n", out.string());
  }
  return all_pass ? kExitOk : kExitFailure;
}

CLI::App* add_run_options(CLI::App& command, ExperimentOptions& options) {
  command.add_flag("--quick", options.quick, "Smaller sizes: `all --quick` within minutes");
  command.add_option("--out", options.out, "Directory for data, figures and verdicts")
      ->capture_default_str();
  command.add_option("--seed", options.seed, "Random seed")->capture_default_str();
  command.add_flag("--json", options.json, "Print the results as JSON instead of a table");
  return &command;
}

}  // namespace

void register_experiment_command(CLI::App& root, CommandTable& commands) {
  auto options = std::make_shared<ExperimentOptions>();
  CLI::App* command = root.add_subcommand(
      "experiment",
      "The article's claims, measured: data (CSV, JSON), Vega-Lite figures and a verdict each");
  command->require_subcommand(1);
  const std::string footer =
      "Exit status: 0 when every verdict passes, 1 when a verdict fails (or a run fails), 2 on "
      "bad input such as an unknown experiment name.\nResults: DIR/verdicts.json and "
      "DIR/<experiment>/ (docs/experiments.md); `gradscope report DIR -o report.html` shows "
      "them.";
  command->footer(footer);
  // `experiment` dispatches to the one of list, run, all that was given.
  auto actions = std::make_shared<CommandTable>();
  commands[command] = [command, actions] {
    for (const CLI::App* sub : command->get_subcommands()) return actions->at(sub)();
    return kExitBadInput;
  };

  CLI::App* list = command->add_subcommand("list", "List the experiments");
  list->add_flag("--json", options->json, "Print JSON");
  (*actions)[list] = [options] { return run_list(options->json); };

  CLI::App* run = add_run_options(
      *command->add_subcommand("run", "Run the named experiments (see `experiment list`)"),
      *options);
  run->add_option("names", options->names, "Experiment names")->required();
  run->footer(footer);
  (*actions)[run] = [options] {
    // Every name is checked before anything runs or any directory is made.
    std::vector<std::unique_ptr<Experiment>> experiments;
    for (const std::string& name : options->names) experiments.push_back(make_experiment(name));
    return run_experiments(*options, std::move(experiments));
  };

  CLI::App* all = add_run_options(
      *command->add_subcommand("all", "Run every experiment, in the order of `experiment list`"),
      *options);
  all->footer(footer);
  (*actions)[all] = [options] { return run_experiments(*options, make_experiments()); };
}

}  // namespace gradscope::cli
