// An experiment run's folder on disk (layout in experiment.hpp, format in docs/experiments.md).
// Nothing here is ever half-written: files go to a temporary name and are renamed into place,
// and an experiment's folder is assembled beside DIR and renamed in whole.
#pragma once

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "gradscope/experiments/experiment.hpp"

namespace gradscope {

inline constexpr int kExperimentSchema = 1;

// Writes `text` to `path` via a temporary file in the same folder and a rename. Runtime Error
// naming the path when it cannot be written.
void write_file_atomically(const std::filesystem::path& path, std::string_view text);

// {"experiment", "name", "claim", "measured", "expected", "tolerance", "comparison", "units",
// "pass"}; a non-finite measurement is null.
nlohmann::json to_json(const Verdict& verdict, std::string_view experiment);

struct RunRecord {
  std::uint64_t seed = 0;
  bool quick = false;
  double wall_seconds = 0.0;
};

// Writes DIR/<experiment.name()>/ whole (tables, figure specs, result.json), replacing an older
// one; returns result.json's content.
nlohmann::json write_experiment_result(const std::filesystem::path& run_dir,
                                       const Experiment& experiment, const ExperimentResult& result,
                                       const RunRecord& record);

// Runs one experiment into DIR (creating DIR/<name>/) and writes it.
struct ExperimentRun {
  ExperimentResult result;
  nlohmann::json record;  // result.json
};
ExperimentRun run_experiment(const Experiment& experiment, const std::filesystem::path& run_dir,
                             bool quick, std::uint64_t seed,
                             std::function<void(long done, long total)> progress = {});

// The result.json of every experiment in DIR: registry order first, then others by name.
std::vector<nlohmann::json> read_experiment_results(const std::filesystem::path& run_dir);

// Rebuilds DIR/verdicts.json from every DIR/*/result.json (so runs of different experiments into
// one DIR add up) and returns it: an array of to_json(Verdict) records.
nlohmann::json write_verdicts(const std::filesystem::path& run_dir);

}  // namespace gradscope
