// Trial runs: `gradscope train ...` as a subprocess of this same executable, writing a run log
// that the doctor then reads. Used by `doctor --evaluate` (the pathology suite) and by
// `doctor --fix` (a short run per candidate prescription).
#pragma once

#include <string>
#include <vector>

namespace gradscope::cli {

struct TrialResult {
  int exit_code = -1;       // the train command's exit code; -1 when it did not exit normally
  double seconds = 0.0;     // wall time
  std::string log_path;     // the run log it wrote (--log)
  std::string output_path;  // its stdout and stderr
};

// The path of the running executable (/proc/self/exe, resolved).
std::string self_executable();

// Runs `<self> <args>` with stdout and stderr both sent to `output_path` and waits for it;
// returns its exit code (-1 when it did not exit normally). Throws a runtime Error when it cannot
// start.
int run_self(const std::vector<std::string>& args, const std::string& output_path);

// Runs `<self> train <train_args> --log <log_path> --progress-every 0` (run_self).
TrialResult run_trial(const std::vector<std::string>& train_args, const std::string& log_path,
                      const std::string& output_path);

}  // namespace gradscope::cli
