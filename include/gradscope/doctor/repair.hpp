// The doctor's repair loop (`gradscope doctor --fix`): train briefly, diagnose, apply the primary
// finding's prescriptions in rank order, check each first cheaply (the gradient profile of one
// probe batch at initialisation) and then with a short training run, until a run is healthy or
// the budget is spent. docs/doctor.md, "Repair (--fix)".
//
// Pure logic: the runs come from an injected TrialRunner and the verdicts from an injected
// Diagnoser, so the loop is tested with scripted runs (tests/doctor/repair_test.cpp) and the CLI
// supplies subprocesses (cli/doctor_fix.cpp) and diagnose().
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gradscope/doctor/finding.hpp"
#include "gradscope/probe/run_log_reader.hpp"

namespace gradscope {

// Where the runs come from. Both take `gradscope train` flags (model, task and training flags).
class TrialRunner {
 public:
  virtual ~TrialRunner() = default;
  // The gradient profile at initialisation on one probe batch, as a run with one step that holds
  // the layer records (MLPs) or the per-step curves (recurrent models). Cheap: no training.
  // Training-only flags (is_training_option) do not change it.
  virtual LoggedRun probe(const std::vector<std::string>& train_flags) = 0;
  // A short training run in the runner's default budget. Throws a bad-input Error when the
  // flags are refused.
  virtual LoggedRun train(const std::vector<std::string>& train_flags) = 0;
};

// The doctor's verdict on one run; the CLI passes [](run) { return diagnose({run}); }.
using Diagnoser = std::function<Diagnosis(const LoggedRun&)>;

struct RepairBudget {
  int max_candidates = 4;  // prescriptions tried, counting those the cheap check turns down
  int max_trainings = 3;   // short training runs after the "before" run
  // A candidate that clears the finding it was for but leaves another: keep it and go on with
  // the new primary finding's prescriptions on top of it (e.g. --clip 1 then a looser clip).
  bool combine = true;
};

// --- Flags ---------------------------------------------------------------------------------

// `flags` with `changes` applied, option by option: an option already present (as `--opt v`,
// `--opt=v` or a bare `--flag`) is replaced in place by the change's tokens and its later
// repeats are dropped; a new option is appended. A value is the token after an option unless
// that token starts with "--" (so `--residual` takes none and `--negative-slope -0.1` one).
// Setting `--init` to anything but gaussian drops `--sigma-w2`/`--sigma-b2`, which only apply to
// gaussian init (train refuses the mix).
std::vector<std::string> apply_flags(const std::vector<std::string>& flags,
                                     const std::vector<std::string>& changes);

// Options of `gradscope train` that change only the optimisation (--lr, --clip, --steps, ...),
// not the model: a probe at initialisation cannot see them.
bool is_training_option(std::string_view option);
// `flags` without the training-only options and their values: what `gradscope probe` accepts.
std::vector<std::string> model_flags(const std::vector<std::string>& flags);

// `flags` without these options (and their values).
std::vector<std::string> without_options(const std::vector<std::string>& flags,
                                         const std::vector<std::string_view>& options);

// Tokens joined by spaces, each quoted if it holds a shell metacharacter (for display).
std::string join_flags(const std::vector<std::string>& flags);

// --- The cheap check -----------------------------------------------------------------------

// What the probe says about a candidate, before any training is spent on it.
enum class CheapCheck {
  kImproved,     // the problem's measure improved: train it
  kNotImproved,  // it did not: skip the training
  kNotVisible,   // only optimisation flags changed (a probe at init cannot see them): train it
  kDeferred,     // not improved, but a switch to a gated cell (--model lstm|gru): at init its
                 // forget/update gate is half open and its gradient vanishes as fast as the
                 // RNN's; the gates learn to keep, so training judges it
  kUnavailable,  // no measure for this finding or probe: train it
};
// "improved", "not improved", "not visible at init", "deferred to training", "unavailable".
std::string_view cheap_check_name(CheapCheck check);

// The probe's measure of the problem a finding code names, lower is better:
//  - vanishing_gradient, exploding_gradient, vanishing_through_time: how many decades the
//    gradient norm spans, |log10(g_first / g_last)|, over the time steps of the top recurrent
//    layer when the probe has them, else over the layers (input side first); non-finite: +inf;
//  - saturation: the largest `saturated` fraction of a layer; dying_relu: the largest `dead`.
// Empty for other codes or when the probe holds no usable numbers.
struct ProfileMeasure {
  std::string name;  // "decades" or "fraction"
  double value = 0.0;
  double min_gain = 0.0;     // an improvement by at least this much passes
  double good_enough = 0.0;  // and so does any value at or below this
};
std::optional<ProfileMeasure> profile_measure(const LoggedRun& probe, std::string_view code);

// --- The loop ------------------------------------------------------------------------------

// One training command line and what became of it.
struct RepairTrial {
  std::vector<std::string> flags;   // the whole command line
  std::vector<std::string> change;  // the prescription's flags (empty for the "before" run)
  std::string advice;               // the prescription's advice
  std::string target;               // the finding code it was meant to fix
  CheapCheck check = CheapCheck::kUnavailable;
  std::optional<double> measure_before;  // profile_measure of the base and of this candidate
  std::optional<double> measure_after;
  bool trained = false;              // false: turned down by the cheap check, or no budget left
  Diagnosis diagnosis;               // after training
  std::optional<double> final_loss;  // last finite training loss
  std::optional<double> test_loss;   // last eval record's loss
  std::string status;                // the run's end status ("completed", "stopped", "" if killed)
  bool healthy() const { return trained && diagnosis.healthy(); }
};

struct RepairReport {
  std::vector<std::string> flags;  // as given
  RepairTrial before;
  std::vector<RepairTrial> candidates;   // in the order tried
  bool fixed = false;                    // a candidate trained healthy
  std::vector<std::string> fixed_flags;  // its command line (empty when not fixed)
  std::vector<std::string> fix;          // the options of fixed_flags that differ from `flags`
  bool healthy_before() const { return before.healthy(); }
  bool ok() const { return healthy_before() || fixed; }
};

// The loop described at the top of this file. Candidates whose command line was already tried
// are skipped without counting. Errors from the runner (bad flags) propagate.
RepairReport repair(const std::vector<std::string>& flags, TrialRunner& runner,
                    const RepairBudget& budget, const Diagnoser& diagnoser);

// {"flags", "healthy_before", "fixed", "fixed_flags", "fix", "before": trial,
//  "candidates": [trial]}, trial = {"flags", "change", "advice", "target", "cheap_check",
//  "measure_before", "measure_after", "trained", "healthy", "findings": [to_json(finding)],
//  "final_loss", "test_loss", "status"}.
nlohmann::json to_json(const RepairTrial& trial);
nlohmann::json to_json(const RepairReport& report);

}  // namespace gradscope
