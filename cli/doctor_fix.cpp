#include "doctor_fix.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "command.hpp"
#include "gradscope/core/error.hpp"
#include "gradscope/doctor/finding.hpp"
#include "gradscope/doctor/repair.hpp"
#include "gradscope/probe/run_log_reader.hpp"
#include "trial_runner.hpp"

namespace gradscope::cli {

namespace {

namespace fs = std::filesystem;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The last line of a subprocess's output that carries gradscope's error prefix, without it; or
// the last non-empty line.
std::string error_line(const std::string& output) {
  constexpr std::string_view kPrefix = "gradscope: error: ";
  std::string last;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    if (line.starts_with(kPrefix)) return line.substr(kPrefix.size());
    last = line;
  }
  return last;
}

// `gradscope probe --json` output as a run log with one step: the MLP's layer records, or the
// recurrent model's per-step curves (the probe's `layers` array holds them), under a header with
// the model settings the doctor reads.
LoggedRun probe_as_run(const nlohmann::json& probe) {
  nlohmann::json model = probe.value("model", nlohmann::json::object());
  const bool recurrent = model.contains("cell");
  if (recurrent && model.contains("steps")) model["seq"] = model["steps"];
  const nlohmann::json header = {
      {"type", "header"},   {"schema", 1},    {"tool", "gradscope"},
      {"command", "probe"}, {"model", model}, {"task", {{"name", model.value("task", "")}}}};
  nlohmann::json step = {{"type", "step"},
                         {"step", 1},
                         {"loss", probe.value("loss", nlohmann::json())},
                         {"clipped", false},
                         {"skipped", false}};
  const nlohmann::json layers = probe.value("layers", nlohmann::json::array());
  step[recurrent ? "time_steps" : "layers"] = layers;
  RunLogFile file = parse_run_log(header.dump() + "\n" + step.dump() + "\n", "probe");
  GRADSCOPE_CHECK(file.runs.size() == 1, "probe output did not read as one run");
  return std::move(file.runs.front());
}

// The runs of `doctor --fix`: subprocesses of this executable, their files in a temporary
// directory removed at the end.
class SubprocessTrialRunner final : public TrialRunner {
 public:
  SubprocessTrialRunner(const FixOptions& options, bool quiet)
      : defaults_({"--steps", std::to_string(options.steps), "--probe-every",
                   std::to_string(options.probe_every)}),
        quiet_(quiet) {
    std::string pattern = (fs::temp_directory_path() / "gradscope-fix-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw Error(ErrorKind::kRuntime, "doctor --fix: cannot create a temporary directory");
    }
    dir_ = pattern;
  }
  ~SubprocessTrialRunner() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  SubprocessTrialRunner(const SubprocessTrialRunner&) = delete;
  SubprocessTrialRunner& operator=(const SubprocessTrialRunner&) = delete;

  // The command line a training run gets: the short budget, overridden by the user's flags; the
  // log and progress flags are the runner's own.
  std::vector<std::string> train_command(const std::vector<std::string>& flags) const {
    return apply_flags(defaults_, without_options(flags, {"--log", "--progress-every", "--json"}));
  }

  LoggedRun probe(const std::vector<std::string>& train_flags) override {
    std::vector<std::string> args = {"probe"};
    const std::vector<std::string> model = model_flags(train_flags);
    args.insert(args.end(), model.begin(), model.end());
    args.emplace_back("--json");
    const std::string output = (dir_ / fmt::format("probe-{}.out", ++probes_)).string();
    const int code = run_self(args, output);
    const std::string text = read_text(output);
    if (code == kExitBadInput) throw Error(ErrorKind::kBadInput, error_line(text));
    if (code != kExitOk) {
      throw Error(ErrorKind::kRuntime, fmt::format("gradscope {} exited with {}: {}",
                                                   join_flags(args), code, error_line(text)));
    }
    const std::size_t start = text.rfind("\n{");
    const nlohmann::json probe =
        nlohmann::json::parse(start == std::string::npos ? text : text.substr(start + 1), nullptr,
                              /*allow_exceptions=*/false);
    if (probe.is_discarded() || !probe.is_object()) {
      throw Error(ErrorKind::kRuntime,
                  fmt::format("gradscope {}: output is not JSON", join_flags(args)));
    }
    return probe_as_run(probe);
  }

  LoggedRun train(const std::vector<std::string>& train_flags) override {
    const std::vector<std::string> command = train_command(train_flags);
    const std::string stem = (dir_ / fmt::format("train-{}", ++trainings_)).string();
    if (!quiet_) fmt::print(stderr, "doctor --fix: train {}\n", join_flags(command));
    const TrialResult trial = run_trial(command, stem + ".jsonl", stem + ".out");
    const std::string output = read_text(trial.output_path);
    if (trial.exit_code == kExitBadInput) throw Error(ErrorKind::kBadInput, error_line(output));
    // Exit 1 with a log: a run that `--on-nonfinite stop` ended, which is for the doctor to read.
    const bool has_log = fs::exists(trial.log_path) && fs::file_size(trial.log_path) > 0;
    if ((trial.exit_code != kExitOk && trial.exit_code != kExitFailure) || !has_log) {
      throw Error(ErrorKind::kRuntime,
                  fmt::format("gradscope train {} exited with {}: {}", join_flags(command),
                              trial.exit_code, error_line(output)));
    }
    RunLogFile file = read_run_log(trial.log_path);
    GRADSCOPE_CHECK(!file.runs.empty(), "{}: no run in the log", trial.log_path);
    if (!quiet_) {
      fmt::print(stderr, "doctor --fix:   done in {:.1f} s (exit {})\n", trial.seconds,
                 trial.exit_code);
    }
    return std::move(file.runs.front());
  }

 private:
  std::vector<std::string> defaults_;
  bool quiet_;
  fs::path dir_;
  int probes_ = 0;
  int trainings_ = 0;
};

std::string findings_text(const RepairTrial& trial) {
  if (!trial.trained) return "-";
  if (trial.diagnosis.healthy()) return "none";
  std::string text;
  for (const Finding& f : trial.diagnosis.findings) {
    if (!text.empty()) text += ", ";
    text += fmt::format("{} ({})", f.code, severity_name(f.severity));
  }
  return text;
}

std::string loss_text(const std::optional<double>& loss) {
  return loss && std::isfinite(*loss) ? fmt::format("{:.4g}", *loss) : "-";
}

std::string check_text(const RepairTrial& trial) {
  std::string text(cheap_check_name(trial.check));
  if (trial.measure_before && trial.measure_after) {
    text += fmt::format(" ({:.3g} -> {:.3g})", *trial.measure_before, *trial.measure_after);
  }
  return text;
}

// One row of the before/after table: run, change, for, cheap check, losses, healthy, findings.
std::vector<std::string> table_row(const std::string& label, const RepairTrial& trial) {
  const bool before = trial.change.empty();
  return {label,
          before ? "-" : join_flags(trial.change),
          before ? "-" : trial.target,
          before ? "-" : check_text(trial),
          loss_text(trial.final_loss),
          loss_text(trial.test_loss),
          trial.trained ? (trial.healthy() ? "yes" : "no") : "not trained",
          findings_text(trial)};
}

void print_report(const RepairReport& report, const std::vector<std::string>& command) {
  fmt::print("gradscope doctor --fix: gradscope train {}\n", join_flags(report.flags));
  fmt::print("short training run: gradscope train {}\n\n", join_flags(command));
  std::vector<std::vector<std::string>> rows = {
      {"run", "change", "for finding", "cheap check (probe at init)", "final loss", "test loss",
       "healthy", "findings after training"}};
  rows.push_back(table_row("before", report.before));
  for (std::size_t i = 0; i < report.candidates.size(); ++i) {
    rows.push_back(table_row(fmt::format("{}", i + 1), report.candidates[i]));
  }
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const std::vector<std::string>& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  for (const std::vector<std::string>& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      const bool number = c == 4 || c == 5;  // losses, right-aligned
      const bool last = c + 1 == row.size();
      line += number ? fmt::format("{:>{}}", row[c], widths[c])
                     : (last ? row[c] : fmt::format("{:<{}}", row[c], widths[c]));
      if (!last) line += "  ";
    }
    fmt::print("{}\n", line);
  }
  fmt::print("\n");
  if (report.healthy_before()) {
    fmt::print("healthy: nothing to fix\n");
  } else if (report.fixed) {
    fmt::print("fixed by: {}\nfixed command: gradscope train {}\n", join_flags(report.fix),
               join_flags(report.fixed_flags));
  } else {
    const RepairTrial* last = &report.before;
    for (const RepairTrial& trial : report.candidates) {
      if (trial.trained) last = &trial;
    }
    fmt::print("not fixed within the budget ({} candidates tried); still: {}\n",
               report.candidates.size(), findings_text(*last));
  }
}

}  // namespace

void add_fix_options(CLI::App& doctor, FixOptions& options) {
  doctor.fallthrough(false);
  doctor.allow_extras();
  doctor.add_flag("--fix", options.fix,
                  "Repair: the remaining flags are `gradscope train` flags; train briefly, "
                  "diagnose, try the prescriptions (a probe at init first, then a short run) and "
                  "print a before/after table. Exit 0 fixed or healthy, 3 not fixed");
  doctor.add_option("--fix-candidates", options.candidates, "With --fix: prescriptions to try")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  doctor
      .add_option("--fix-trainings", options.trainings,
                  "With --fix: short training runs after the first")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  doctor
      .add_option("--fix-steps", options.steps,
                  "With --fix: steps of each short training run (unless the flags give --steps)")
      ->check(CLI::Range(1L, 1000000000L))
      ->capture_default_str();
}

std::vector<std::string> doctor_log_paths(const CLI::App& doctor) {
  std::vector<std::string> paths = doctor.remaining();
  for (const std::string& path : paths) {
    if (path.size() > 1 && path.starts_with("-")) {
      throw_bad_input("doctor: unknown option {} (train flags go after --fix)", path);
    }
  }
  return paths;
}

int run_doctor_fix(const std::vector<std::string>& train_flags, const FixOptions& options,
                   bool json) {
  if (train_flags.empty()) {
    throw_bad_input(
        "doctor --fix: give the model and training flags, e.g. --depth 20 --act "
        "sigmoid");
  }
  RepairBudget budget;
  budget.max_candidates = options.candidates;
  budget.max_trainings = options.trainings;
  SubprocessTrialRunner runner(options, json);
  const RepairReport report = repair(train_flags, runner, budget, [](const LoggedRun& run) {
    return diagnose(std::vector<LoggedRun>{run});
  });
  if (json) {
    nlohmann::json out = to_json(report);
    out["train_command"] = runner.train_command(train_flags);
    fmt::print("{}\n", out.dump(2));
  } else {
    print_report(report, runner.train_command(train_flags));
  }
  return report.ok() ? kExitOk : kExitProblemFound;
}

}  // namespace gradscope::cli
