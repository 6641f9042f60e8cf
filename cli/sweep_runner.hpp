// Running a sweep's points: each point is `gradscope <command> <settings> --json` as a child
// process of this executable (run_self), so points share no state and a point that crashes,
// runs out of memory or is refused takes nothing else down. The points of one process run on a
// pool of threads, each waiting on its own child.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "gradscope/sweep/result_file.hpp"
#include "gradscope/sweep/sweep_point.hpp"

namespace gradscope::cli {

struct SweepJob {
  std::string command;
  std::vector<SweepPoint> points;
  std::filesystem::path out;
  int jobs = 1;
  bool retry_failed = false;
};

// A killed sweep (SIGKILL, SIGTERM, SIGINT: no destructor runs) cannot remove its scratch
// folder; the next one does. Removes every `gradscope-sweep-<pid>-*` entry of `temp_dir` whose
// pid is not a live process, ignoring errors; anything else is left alone.
void remove_stale_scratch_dirs(const std::filesystem::path& temp_dir);

// A fresh folder `<tmp>/gradscope-sweep-<pid>-XXXXXX` for the children's output and run logs,
// removed with everything in it; creating one first removes the stale ones.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Runs one point and returns its record (ok or failed); never throws for the point's own
// failure.
nlohmann::ordered_json run_sweep_point(const std::string& command, const SweepPoint& point,
                                       const std::filesystem::path& scratch);

// The next point to run, or nothing when there is no more work; called from several threads.
using NextPoint = std::function<std::optional<long>()>;
// Hands out `indices` in order, then nothing (thread-safe).
NextPoint points_from(std::vector<long> indices);

// Runs the points `next` hands out on job.jobs threads; `on_record` is called under a lock,
// once per point, as each finishes.
void run_points(const SweepJob& job, const NextPoint& next,
                const std::function<void(const nlohmann::ordered_json&)>& on_record);

// The results already in job.out and the points still to run.
struct SweepState {
  ResultFile existing;
  std::vector<long> pending;
};
SweepState sweep_state(const SweepJob& job);

struct SweepOutcome {
  long ran = 0;
  long skipped = 0;  // already in the file
  long ok = 0;       // in the final file
  long failed = 0;
};
// Counts of the final file's records.
SweepOutcome count_outcome(const std::vector<nlohmann::ordered_json>& records, long ran,
                           long skipped);

// The whole sweep in this process: resume, run the pending points, append as they finish,
// rewrite in point order.
SweepOutcome run_local_sweep(const SweepJob& job);

}  // namespace gradscope::cli
