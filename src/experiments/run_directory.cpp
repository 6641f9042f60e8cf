#include "gradscope/experiments/run_directory.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "gradscope/core/error.hpp"
#include "gradscope/experiments/registry.hpp"

namespace gradscope {

namespace fs = std::filesystem;

namespace {

// Experiment, figure and table names become file names: keep them plain.
bool is_plain_name(const std::string& name) {
  if (name.empty() || name.front() == '.' || name.front() == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

std::string temp_suffix() { return fmt::format(".tmp-{}", static_cast<long>(::getpid())); }

nlohmann::json finite_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

nlohmann::json result_record(const Experiment& experiment, const ExperimentResult& result,
                             const RunRecord& record) {
  nlohmann::json verdicts = nlohmann::json::array();
  for (const Verdict& v : result.verdicts) verdicts.push_back(to_json(v, experiment.name()));
  nlohmann::json figures = nlohmann::json::array();
  for (const Figure& f : result.figures) {
    figures.push_back({{"name", f.name},
                       {"caption", f.caption},
                       {"spec", f.name + ".vl.json"},
                       {"svg", f.name + ".svg"}});
  }
  nlohmann::json tables = nlohmann::json::array();
  for (const DataTable& t : result.tables) {
    tables.push_back({{"name", t.name()},
                      {"csv", t.name() + ".csv"},
                      {"json", t.name() + ".json"},
                      {"columns", t.columns()},
                      {"rows", t.size()}});
  }
  return {{"schema", kExperimentSchema},
          {"name", experiment.name()},
          {"title", experiment.title()},
          {"claim", experiment.claim()},
          {"source", experiment.source()},
          {"gradscope_version", GRADSCOPE_VERSION},
          {"seed", record.seed},
          {"quick", record.quick},
          {"wall_seconds", record.wall_seconds},
          {"settings", result.settings},
          {"pass", result.passed()},
          {"verdicts", verdicts},
          {"figures", figures},
          {"tables", tables}};
}

void write_result_files(const fs::path& dir, const ExperimentResult& result,
                        const nlohmann::json& record) {
  for (const DataTable& t : result.tables) {
    GRADSCOPE_CHECK(is_plain_name(t.name()), "table name '{}' is not a plain file name", t.name());
    write_file_atomically(dir / (t.name() + ".csv"), t.csv());
    write_file_atomically(dir / (t.name() + ".json"), t.records().dump(1) + "\n");
  }
  for (const Figure& f : result.figures) {
    GRADSCOPE_CHECK(is_plain_name(f.name), "figure name '{}' is not a plain file name", f.name);
    write_file_atomically(dir / (f.name + ".vl.json"), f.spec.dump(1) + "\n");
  }
  // Last, so that a result.json names only files that exist.
  write_file_atomically(dir / "result.json", record.dump(2) + "\n");
}

// Replaces `target` by the finished `staging` folder (rename: the swap is one step; the old one
// is removed just before).
void move_into_place(const fs::path& staging, const fs::path& target) {
  std::error_code error;
  fs::remove_all(target, error);
  fs::rename(staging, target, error);
  if (error) {
    throw Error(ErrorKind::kRuntime, fmt::format("cannot move {} to {}: {}", staging.string(),
                                                 target.string(), error.message()));
  }
}

void create_run_dir(const fs::path& run_dir) {
  std::error_code error;
  fs::create_directories(run_dir, error);
  if (error || !fs::is_directory(run_dir)) {
    throw_bad_input("--out {}: cannot create the directory: {}", run_dir.string(),
                    error ? error.message() : "not a directory");
  }
}

// Builds DIR/<name>/ in a hidden staging folder beside it, then moves it into place: `fill`
// writes into the staging folder; if it throws, the staging folder goes and DIR/<name>/ stays.
template <typename Fill>
void build_in_staging(const fs::path& run_dir, const std::string& name, Fill&& fill) {
  GRADSCOPE_CHECK(is_plain_name(name), "experiment name '{}' is not a plain file name", name);
  create_run_dir(run_dir);
  const fs::path staging = run_dir / ("." + name + temp_suffix());
  fs::remove_all(staging);
  fs::create_directories(staging);
  try {
    fill(staging);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    throw;
  }
  move_into_place(staging, run_dir / name);
}

nlohmann::json read_json_file(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw_bad_input("{}: cannot read", path.string());
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw_bad_input("{}: not valid JSON: {}", path.string(), e.what());
  }
}

}  // namespace

void write_file_atomically(const fs::path& path, std::string_view text) {
  const fs::path temp = path.string() + temp_suffix();
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) {
      std::error_code ignored;
      fs::remove(temp, ignored);
      throw Error(ErrorKind::kRuntime, fmt::format("cannot write {}", path.string()));
    }
  }
  std::error_code error;
  fs::rename(temp, path, error);
  if (error) {
    fs::remove(temp, error);
    throw Error(ErrorKind::kRuntime, fmt::format("cannot write {}", path.string()));
  }
}

nlohmann::json to_json(const Verdict& verdict, std::string_view experiment) {
  return {{"experiment", experiment},
          {"name", verdict.name},
          {"claim", verdict.claim},
          {"measured", finite_or_null(verdict.measured)},
          {"expected", verdict.expected},
          {"tolerance", verdict.tolerance},
          {"comparison", comparison_name(verdict.comparison)},
          {"units", verdict.units},
          {"pass", verdict.pass}};
}

nlohmann::json write_experiment_result(const fs::path& run_dir, const Experiment& experiment,
                                       const ExperimentResult& result, const RunRecord& record) {
  const nlohmann::json json = result_record(experiment, result, record);
  build_in_staging(run_dir, experiment.name(),
                   [&](const fs::path& staging) { write_result_files(staging, result, json); });
  return json;
}

ExperimentRun run_experiment(const Experiment& experiment, const fs::path& run_dir, bool quick,
                             std::uint64_t seed, std::function<void(long, long)> progress) {
  ExperimentRun run;
  build_in_staging(run_dir, experiment.name(), [&](const fs::path& staging) {
    ExperimentContext context;
    context.out_dir = staging;
    context.quick = quick;
    context.seed = seed;
    context.progress = std::move(progress);
    const auto start = std::chrono::steady_clock::now();
    run.result = experiment.run(context);
    RunRecord record;
    record.seed = seed;
    record.quick = quick;
    record.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    run.record = result_record(experiment, run.result, record);
    write_result_files(staging, run.result, run.record);
  });
  return run;
}

std::vector<nlohmann::json> read_experiment_results(const fs::path& run_dir) {
  if (!fs::is_directory(run_dir)) throw_bad_input("{}: no such directory", run_dir.string());
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(run_dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.front() != '.' && fs::exists(entry.path() / "result.json")) {
      names.push_back(name);
    }
  }
  const std::vector<std::string> order = experiment_names();
  const auto rank = [&order](const std::string& name) {
    return static_cast<std::size_t>(std::find(order.begin(), order.end(), name) - order.begin());
  };
  std::sort(names.begin(), names.end(), [&rank](const std::string& a, const std::string& b) {
    return rank(a) != rank(b) ? rank(a) < rank(b) : a < b;
  });
  std::vector<nlohmann::json> results;
  for (const std::string& name : names) {
    nlohmann::json result = read_json_file(run_dir / name / "result.json");
    if (!result.is_object()) {
      throw_bad_input("{}: not an experiment result", (run_dir / name / "result.json").string());
    }
    results.push_back(std::move(result));
  }
  return results;
}

nlohmann::json write_verdicts(const fs::path& run_dir) {
  nlohmann::json verdicts = nlohmann::json::array();
  for (const nlohmann::json& result : read_experiment_results(run_dir)) {
    if (!result.contains("verdicts") || !result["verdicts"].is_array()) continue;
    for (const nlohmann::json& v : result["verdicts"]) verdicts.push_back(v);
  }
  write_file_atomically(run_dir / "verdicts.json", verdicts.dump(2) + "\n");
  return verdicts;
}

}  // namespace gradscope
