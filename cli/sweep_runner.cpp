#include "sweep_runner.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "gradscope/core/error.hpp"
#include "gradscope/core/parallel_for.hpp"
#include "progress.hpp"
#include "trial_runner.hpp"

namespace gradscope::cli {

namespace {

using ordered_json = nlohmann::ordered_json;
namespace fs = std::filesystem;

std::vector<std::string> lines_of(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The command's --json result: the last line of its output that is a JSON object (progress
// lines go to the same file).
ordered_json json_result(const std::vector<std::string>& lines) {
  for (auto line = lines.rbegin(); line != lines.rend(); ++line) {
    if (line->empty() || line->front() != '{') continue;
    try {
      ordered_json parsed = ordered_json::parse(*line);
      if (parsed.is_object()) return parsed;
    } catch (const nlohmann::json::parse_error&) {
    }
  }
  return nullptr;
}

std::string error_reason(const std::vector<std::string>& lines, int exit_code) {
  static const std::string kPrefix = "gradscope: error: ";
  for (auto line = lines.rbegin(); line != lines.rend(); ++line) {
    if (line->rfind(kPrefix, 0) == 0) return line->substr(kPrefix.size());
  }
  if (exit_code < 0) return "the command was killed by a signal";
  return fmt::format("the command exited with code {}", exit_code);
}

// The gradient profile of a training run: per layer ||dL/dh_l|| at the last probed step of its
// run log (docs/run-log.md), input layer first.
ordered_json last_gradient_profile(const fs::path& log) {
  ordered_json profile = nullptr;
  for (const std::string& line : lines_of(log)) {
    ordered_json record;
    try {
      record = ordered_json::parse(line);
    } catch (const nlohmann::json::parse_error&) {
      continue;
    }
    if (!record.is_object() || record.value("type", std::string()) != "step" ||
        !record.contains("layers") || !record["layers"].is_array()) {
      continue;
    }
    ordered_json names = ordered_json::array();
    ordered_json norms = ordered_json::array();
    for (const ordered_json& layer : record["layers"]) {
      names.push_back(layer.value("name", std::string()));
      norms.push_back(layer.contains("grad_norm") ? layer["grad_norm"] : ordered_json(nullptr));
    }
    profile = {{"step", record["step"]}, {"layers", names}, {"grad_norm", norms}};
  }
  return profile;
}

// What makes an ok-looking result a failure: a non-finite loss.
std::string nonfinite_reason(const std::string& command, const ordered_json& result) {
  const char* field = command == "train" ? "final_loss" : "loss";
  if (result.contains(field) && result[field].is_null()) {
    return fmt::format("non-finite {} (the result is kept)", field);
  }
  return {};
}

// The owner's pid of a scratch folder named `gradscope-sweep-<pid>-*`; nothing for any other
// name (old-style `gradscope-sweep-XXXXXX` folders have no owner to ask about).
std::optional<pid_t> scratch_owner(const std::string& name) {
  static const std::string kPrefix = "gradscope-sweep-";
  if (name.rfind(kPrefix, 0) != 0) return std::nullopt;
  const std::size_t dash = name.find('-', kPrefix.size());
  if (dash == std::string::npos || dash == kPrefix.size()) return std::nullopt;
  const char* first = name.data() + kPrefix.size();
  const char* last = name.data() + dash;
  pid_t pid = 0;  // from_chars takes digits and a leading '-' only: pid <= 0 rules out the sign
  const auto [end, error] = std::from_chars(first, last, pid);
  if (error != std::errc() || end != last || pid <= 0) return std::nullopt;
  return pid;
}

}  // namespace

void remove_stale_scratch_dirs(const fs::path& temp_dir) {
  std::error_code error;
  std::vector<fs::path> stale;
  for (fs::directory_iterator it(temp_dir, error), end; !error && it != end; it.increment(error)) {
    const std::optional<pid_t> owner = scratch_owner(it->path().filename().string());
    if (owner && ::kill(*owner, 0) != 0 && errno == ESRCH) stale.push_back(it->path());
  }
  for (const fs::path& path : stale) {
    std::error_code ignored;  // another user's folder, or another sweep removing it too
    fs::remove_all(path, ignored);
  }
}

ScratchDir::ScratchDir() {
  const fs::path temp_dir = fs::temp_directory_path();
  remove_stale_scratch_dirs(temp_dir);
  std::string pattern = (temp_dir / fmt::format("gradscope-sweep-{}-XXXXXX", ::getpid())).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw Error(ErrorKind::kRuntime, fmt::format("cannot create a scratch folder {}", pattern));
  }
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

ordered_json run_sweep_point(const std::string& command, const SweepPoint& point,
                             const fs::path& scratch) {
  const fs::path output = scratch / fmt::format("point-{}.out", point.index);
  const fs::path log = scratch / fmt::format("point-{}.jsonl", point.index);
  std::vector<std::string> args = point_arguments(command, point.settings);
  args.emplace_back("--json");
  if (command == "train") {
    args.emplace_back("--log");
    args.push_back(log.string());
  }
  int exit_code = -1;
  try {
    exit_code = run_self(args, output.string());
  } catch (const Error& e) {
    return failed_record(command, point, e.what());
  }
  const std::vector<std::string> lines = lines_of(output);
  ordered_json result = json_result(lines);
  ordered_json record;
  if (exit_code != 0) {
    record = failed_record(command, point, error_reason(lines, exit_code));
  } else if (result.is_null()) {
    record = failed_record(command, point, "the command printed no JSON result");
  } else {
    if (command == "train") {
      // Wall time and the scratch log's path differ from run to run: not part of the result.
      result.erase("seconds");
      result.erase("log");
      result["gradient_profile"] = last_gradient_profile(log);
    }
    const std::string nonfinite = nonfinite_reason(command, result);
    record = nonfinite.empty() ? ok_record(command, point, std::move(result))
                               : failed_record(command, point, nonfinite, std::move(result));
  }
  std::error_code ignored;
  fs::remove(output, ignored);
  fs::remove(log, ignored);
  return record;
}

NextPoint points_from(std::vector<long> indices) {
  struct State {
    std::mutex mutex;
    std::vector<long> indices;
    std::size_t next = 0;
  };
  auto state = std::make_shared<State>();
  state->indices = std::move(indices);
  return [state]() -> std::optional<long> {
    const std::lock_guard<std::mutex> lock(state->mutex);
    if (state->next >= state->indices.size()) return std::nullopt;
    return state->indices[state->next++];
  };
}

void run_points(const SweepJob& job, const NextPoint& next,
                const std::function<void(const ordered_json&)>& on_record) {
  const ScratchDir scratch;
  std::mutex mutex;
  const std::size_t threads = static_cast<std::size_t>(std::max(1, job.jobs));
  parallel_for(threads, job.jobs, [&](std::size_t) {
    while (const std::optional<long> index = next()) {
      const SweepPoint& point = job.points[static_cast<std::size_t>(*index)];
      const ordered_json record = run_sweep_point(job.command, point, scratch.path());
      const std::lock_guard<std::mutex> lock(mutex);
      on_record(record);
    }
  });
}

SweepState sweep_state(const SweepJob& job) {
  SweepState state;
  state.existing = read_result_file(job.out);
  const std::vector<bool> done =
      completed_points(state.existing, job.out, job.command, job.points, job.retry_failed);
  for (std::size_t i = 0; i < done.size(); ++i) {
    if (!done[i]) state.pending.push_back(static_cast<long>(i));
  }
  return state;
}

SweepOutcome count_outcome(const std::vector<ordered_json>& records, long ran, long skipped) {
  std::map<std::uint64_t, bool> ok;
  for (const ordered_json& record : records) {
    ok[record["point"].get<std::uint64_t>()] = record["status"] == kSweepStatusOk;
  }
  SweepOutcome outcome;
  outcome.ran = ran;
  outcome.skipped = skipped;
  for (const auto& entry : ok) (entry.second ? outcome.ok : outcome.failed) += 1;
  return outcome;
}

SweepOutcome run_local_sweep(const SweepJob& job) {
  SweepState state = sweep_state(job);
  std::vector<ordered_json> records = state.existing.records;
  const long total = static_cast<long>(state.pending.size());
  {
    ResultAppender appender(job.out, state.existing.complete_bytes);
    Progress progress("sweep", total, total / 10 + 1);
    long done = 0;
    run_points(job, points_from(state.pending), [&](const ordered_json& record) {
      appender.append(record);
      records.push_back(record);
      progress.update(++done);
    });
    progress.finish();
  }
  write_sorted_results(job.out, records);
  return count_outcome(records, total, static_cast<long>(job.points.size()) - total);
}

}  // namespace gradscope::cli
