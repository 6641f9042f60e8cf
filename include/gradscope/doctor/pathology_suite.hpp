// The pathology suite: training runs with a known ground truth, each problem produced several
// ways plus healthy runs, to measure the doctor (and the AUTOTRAINER baseline) by a confusion
// matrix. The runs themselves are `gradscope train` command lines; `gradscope doctor --evaluate`
// runs them (cli/trial_runner.hpp) and scores the diagnoses. docs/doctor.md has the matrices.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "gradscope/doctor/finding.hpp"

namespace gradscope {

inline constexpr std::string_view kHealthy = "healthy";

struct PathologyCase {
  std::string name;
  std::string expected;  // the primary finding's code, or "healthy"
  std::string how;       // what produces it, in a few words
  // `gradscope train` flags of each run; a case may hold several runs (the same recurrent model
  // at several sequence lengths), diagnosed together.
  std::vector<std::vector<std::string>> runs;
};

// The suite, deterministic (every run has --seed) and short (each run well under a second in a
// release build).
const std::vector<PathologyCase>& pathology_suite();

// The classes of the matrix: "healthy" then the six finding codes.
std::vector<std::string> diagnosis_classes();

// The primary finding's code, or "healthy".
std::string primary_code(const Diagnosis& diagnosis);

// rows = true class, columns = predicted class, in diagnosis_classes() order.
class ConfusionMatrix {
 public:
  ConfusionMatrix();
  void add(const std::string& truth, const std::string& predicted);
  long count(std::size_t truth, std::size_t predicted) const;
  long correct() const;
  long total() const;
  const std::vector<std::string>& classes() const { return classes_; }
  // {"classes":[..], "counts":[[..]..], "correct":N, "total":N}
  nlohmann::json to_json() const;

 private:
  std::size_t index_of(const std::string& label) const;
  std::vector<std::string> classes_;
  std::vector<std::vector<long>> counts_;
};

// One case of an evaluation: the truth and both diagnoses' primary codes.
struct CaseOutcome {
  std::string name;
  std::string expected;
  std::string ours;
  std::string autotrainer;
  double seconds = 0.0;  // training time of the case's runs
};

struct SuiteEvaluation {
  std::vector<CaseOutcome> cases;
  ConfusionMatrix ours;
  ConfusionMatrix autotrainer;
  double seconds = 0.0;
  // {"cases":[{name, expected, ours, autotrainer, seconds}..], "ours":{..}, "autotrainer":{..},
  //  "seconds"}
  nlohmann::json to_json() const;
};

// Trains a case's runs and returns their logs, adding their training time to `seconds`. The CLI
// runs `gradscope train` in a child process (cli/trial_runner.hpp); tests may run anything.
using CaseRunner = std::function<std::vector<LoggedRun>(const PathologyCase&, double& seconds)>;

// Runs every case of the suite, diagnoses it both ways and scores it; `on_case` (may be empty)
// sees each outcome as soon as it is known.
SuiteEvaluation evaluate_suite(const std::vector<PathologyCase>& suite, const CaseRunner& run_case,
                               const std::function<void(const CaseOutcome&)>& on_case = {});

}  // namespace gradscope
