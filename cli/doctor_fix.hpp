// gradscope doctor --fix <train flags>: the repair loop (gradscope/doctor/repair.hpp) with real
// runs — `gradscope train` and `gradscope probe --json` as subprocesses of this executable — and
// its before/after table (or --json). docs/doctor.md, "Repair (--fix)".
//
// Wiring into the doctor subcommand (cli/doctor_command.cpp): add_fix_options() adds the flags
// and makes the subcommand keep every token it does not know, in order, so that the train
// flags after --fix reach run_doctor_fix() untouched; the log paths of a plain `doctor` call then
// come from doctor_log_paths() instead of a positional option.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace gradscope::cli {

struct FixOptions {
  bool fix = false;
  int candidates = 4;  // RepairBudget::max_candidates
  int trainings = 3;   // RepairBudget::max_trainings
  long steps = 200;    // the short training run, unless the train flags give --steps
  long probe_every = 20;
};

// --fix, --fix-candidates, --fix-trainings, --fix-steps; and allow_extras + no fallthrough on
// `doctor`, so that the tokens it does not parse stay in doctor.remaining(), in order.
void add_fix_options(CLI::App& doctor, FixOptions& options);

// Without --fix: the tokens left over are the run logs; an option among them is refused (bad
// input, as CLI11 would have).
std::vector<std::string> doctor_log_paths(const CLI::App& doctor);

// Runs the repair loop on `train_flags` and prints the table (or JSON when `json`). Exit code 0
// when the run was healthy or a candidate fixed it, 3 when a problem remains after the budget;
// the train command's refusal of the flags is rethrown as a bad-input Error (exit 2) with its
// one-line message.
int run_doctor_fix(const std::vector<std::string>& train_flags, const FixOptions& options,
                   bool json);

}  // namespace gradscope::cli
