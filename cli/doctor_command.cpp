// gradscope doctor: reads run logs and reports gradient problems with evidence and prescriptions
// (docs/doctor.md). gradscope doctor --evaluate: runs the pathology suite and prints the
// confusion matrices of the doctor and of the AUTOTRAINER rules.
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "doctor_fix.hpp"
#include "gradscope/core/error.hpp"
#include "gradscope/doctor/finding.hpp"
#include "gradscope/doctor/pathology_suite.hpp"
#include "gradscope/probe/run_log_reader.hpp"
#include "trial_runner.hpp"

namespace gradscope::cli {

namespace {

struct DoctorOptions {
  std::vector<std::string> logs;
  bool json = false;
  bool evaluate = false;
  std::string keep;  // --evaluate: keep the suite's logs in this directory
  FixOptions fix;
};

std::string describe(const LoggedRun& run) {
  const RunSettings& s = run.settings;
  std::string text = s.model.empty() ? "model ?" : s.model;
  if (!s.act.empty()) text += " " + s.act;
  if (!s.cell.empty()) text += " " + s.cell;
  if (s.depth) text += fmt::format(" depth {}", *s.depth);
  if (!s.task.empty()) text += ", task " + s.task;
  if (s.seq) text += fmt::format(" seq {}", *s.seq);
  return text;
}

void print_finding(const Finding& f) {
  fmt::print("[{}] {}: {}\n", severity_name(f.severity), f.code, f.summary);
  for (const std::string& line : f.evidence) fmt::print("    - {}\n", line);
  if (!f.prescriptions.empty()) fmt::print("  prescriptions (best first):\n");
  int rank = 1;
  for (const Prescription& p : f.prescriptions) {
    fmt::print("    {}. {}\n       flags: {}\n", rank++, p.advice, fmt::join(p.flags, " "));
  }
}

int run_diagnose(const DoctorOptions& options) {
  if (options.logs.empty()) throw_bad_input("doctor: give one or more run logs (or --evaluate)");
  std::vector<LoggedRun> runs;
  std::vector<std::string> sources;
  nlohmann::json issues = nlohmann::json::array();
  for (const std::string& path : options.logs) {
    RunLogFile file = read_run_log(path);
    for (const LogIssue& issue : file.issues) {
      fmt::print(stderr, "gradscope: warning: {}:{}: {}\n", path, issue.line, issue.message);
      issues.push_back({{"file", path}, {"line", issue.line}, {"message", issue.message}});
    }
    for (LoggedRun& run : file.runs) {
      sources.push_back(fmt::format("{}:{}", path, run.header_line));
      runs.push_back(std::move(run));
    }
  }
  const Diagnosis diagnosis = diagnose(runs);
  if (options.json) {
    nlohmann::json findings = nlohmann::json::array();
    for (const Finding& f : diagnosis.findings) {
      nlohmann::json j = to_json(f);
      j["source"] = sources.at(static_cast<std::size_t>(f.run));
      findings.push_back(std::move(j));
    }
    fmt::print(
        "{}\n",
        nlohmann::json{{"findings", findings}, {"runs", runs.size()}, {"issues", issues}}.dump(2));
  } else {
    for (std::size_t i = 0; i < runs.size(); ++i) {
      fmt::print("run {} ({}): {}\n", i + 1, sources[i], describe(runs[i]));
    }
    if (diagnosis.healthy()) {
      fmt::print("healthy: no gradient problem found in {} run(s)\n", runs.size());
    }
    for (const Finding& f : diagnosis.findings) {
      fmt::print("\n");
      if (runs.size() > 1) fmt::print("run {}: ", f.run + 1);
      print_finding(f);
    }
  }
  return diagnosis.healthy() ? kExitOk : kExitProblemFound;
}

// Short column labels for the matrices.
std::string short_label(const std::string& label) {
  if (label == kHealthy) return "heal";
  if (label == kVanishingGradient) return "vanG";
  if (label == kExplodingGradient) return "expG";
  if (label == kVanishingThroughTime) return "vTT";
  if (label == kSaturation) return "sat";
  if (label == kDyingRelu) return "dead";
  if (label == kClippingAlwaysActive) return "clip";
  return label.substr(0, 4);
}

std::vector<std::string> matrix_lines(const ConfusionMatrix& m) {
  std::vector<std::string> lines;
  std::string header;
  for (const std::string& c : m.classes()) header += fmt::format("{:>5}", short_label(c));
  lines.push_back(header);
  for (std::size_t r = 0; r < m.classes().size(); ++r) {
    std::string line;
    for (std::size_t c = 0; c < m.classes().size(); ++c) {
      line += fmt::format("{:>5}", m.count(r, c));
    }
    lines.push_back(line);
  }
  return lines;
}

int run_evaluate(const DoctorOptions& options) {
  namespace fs = std::filesystem;
  fs::path dir;
  if (!options.keep.empty()) {
    dir = options.keep;
    fs::create_directories(dir);
  } else {
    std::string pattern = (fs::temp_directory_path() / "gradscope-suite-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw Error(ErrorKind::kRuntime, "doctor --evaluate: cannot create a temporary directory");
    }
    dir = pattern;
  }
  if (!options.json) {
    fmt::print("{:<28} {:<24} {:<24} {:<24} {:>6}\n", "case", "truth", "ours", "AUTOTRAINER",
               "sec");
  }
  // Each run is `gradscope train` in a child process, its log read back as `doctor` reads one.
  const CaseRunner run_case = [&dir](const PathologyCase& c, double& seconds) {
    std::vector<LoggedRun> runs;
    for (std::size_t i = 0; i < c.runs.size(); ++i) {
      const std::string stem = (dir / fmt::format("{}-{}", c.name, i + 1)).string();
      const TrialResult trial = run_trial(c.runs[i], stem + ".jsonl", stem + ".out");
      seconds += trial.seconds;
      if (trial.exit_code != kExitOk && trial.exit_code != kExitFailure) {
        throw Error(ErrorKind::kRuntime, fmt::format("suite case {}: train exited with {}; see {}",
                                                     c.name, trial.exit_code, stem + ".out"));
      }
      RunLogFile file = read_run_log(trial.log_path);
      for (LoggedRun& run : file.runs) runs.push_back(std::move(run));
    }
    return runs;
  };
  const auto print_case = [&options](const CaseOutcome& c) {
    if (options.json) return;
    fmt::print("{:<28} {:<24} {:<24} {:<24} {:>6.2f}{}\n", c.name, c.expected, c.ours,
               c.autotrainer, c.seconds, c.ours == c.expected ? "" : "  MISS");
    std::fflush(stdout);
  };
  const SuiteEvaluation evaluation = evaluate_suite(pathology_suite(), run_case, print_case);
  const ConfusionMatrix& ours = evaluation.ours;
  const ConfusionMatrix& baseline = evaluation.autotrainer;
  if (options.keep.empty()) fs::remove_all(dir);
  if (options.json) {
    fmt::print("{}\n", evaluation.to_json().dump(2));
  } else {
    fmt::print("\nrows: true class, columns: primary finding ({})\n",
               "heal = healthy, vanG = vanishing_gradient, expG = exploding_gradient, "
               "vTT = vanishing_through_time, sat = saturation, dead = dying_relu, "
               "clip = clipping_always_active");
    const std::vector<std::string> left = matrix_lines(ours);
    const std::vector<std::string> right = matrix_lines(baseline);
    fmt::print("{:<6}{:<40}{}\n", "", "ours", "AUTOTRAINER rules");
    for (std::size_t i = 0; i < left.size(); ++i) {
      const std::string row = i == 0 ? "" : short_label(ours.classes()[i - 1]);
      fmt::print("{:<6}{:<40}{}\n", row, left[i], right[i]);
    }
    fmt::print("{:<6}{:<40}{}\n", "", fmt::format("correct {}/{}", ours.correct(), ours.total()),
               fmt::format("correct {}/{}", baseline.correct(), baseline.total()));
    fmt::print("training time {:.1f} s\n", evaluation.seconds);
  }
  return ours.correct() == ours.total() ? kExitOk : kExitFailure;
}

}  // namespace

void register_doctor_command(CLI::App& root, CommandTable& commands) {
  auto options = std::make_shared<DoctorOptions>();
  CLI::App* command = root.add_subcommand(
      "doctor",
      "Diagnose gradient problems in run logs: findings with evidence and prescriptions.\n"
      "  gradscope doctor RUN.jsonl [RUN2.jsonl ...] [--json]\n"
      "  gradscope doctor --fix <model and training flags> [--json]\n"
      "  gradscope doctor --evaluate [--json]\n"
      "Exit 0 healthy (or fixed), 3 problem found (or not fixed), 2 bad input");
  command->footer(
      "Findings (stable codes in --json): vanishing_gradient, exploding_gradient, "
      "vanishing_through_time, saturation, dying_relu, clipping_always_active. The first is the "
      "primary finding. Logs from gradscope train and python/gradscope_torch.py; several logs "
      "(e.g. one recurrent model at several --seq) are diagnosed together. See docs/doctor.md.");
  // RUN.jsonl... and the train flags after --fix both arrive as the tokens doctor does not parse.
  add_fix_options(*command, options->fix);
  command->add_flag("--json", options->json, "Print the findings (or the evaluation) as JSON");
  command->add_flag("--evaluate", options->evaluate,
                    "Run the pathology suite (known ground truth) and print the confusion "
                    "matrices of the doctor and of the AUTOTRAINER rules; exit 1 unless perfect");
  command->add_option("--keep", options->keep,
                      "With --evaluate: write the suite's logs to this directory and keep them");
  commands[command] = [options, command] {
    if (options->fix.fix) return run_doctor_fix(command->remaining(), options->fix, options->json);
    options->logs = doctor_log_paths(*command);
    return options->evaluate ? run_evaluate(*options) : run_diagnose(*options);
  };
}

}  // namespace gradscope::cli
