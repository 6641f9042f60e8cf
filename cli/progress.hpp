// Progress of a long command on stderr: a redrawn bar (loss, steps/s, ETA) on a terminal, a plain
// line every `every` steps otherwise (logs and CI stay readable). No Debian package offers a C++
// progress bar, so this is the one piece of terminal drawing gradscope does itself.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace gradscope::cli {

class Progress {
 public:
  // every: plain-line interval when stderr is not a terminal (0: no plain lines).
  Progress(std::string label, long total, long every);
  // The loss is shown when given (training); analysis stages have none.
  void update(long done, std::optional<double> loss = std::nullopt);
  void finish();

 private:
  std::string label_;
  long total_;
  long every_;
  bool terminal_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace gradscope::cli
