// gradscope sweep GRID: runs a command (probe, spectrum, train) at every point of a grid of
// settings, on local threads or across MPI ranks, into one results file that resumes after a
// kill. gradscope sweep --summarize FILE: a results file as a table pivoted on two settings.
// Format and behaviour: docs/sweeps.md. The grid, the points, the results file and the table are
// the library's (gradscope/sweep/); running points is sweep_runner.*, MPI is sweep_mpi.*.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "gradscope/core/error.hpp"
#include "gradscope/sweep/grid.hpp"
#include "gradscope/sweep/pivot.hpp"
#include "gradscope/sweep/result_file.hpp"
#include "gradscope/sweep/sweep_point.hpp"
#include "sweep_mpi.hpp"
#include "sweep_runner.hpp"

namespace gradscope::cli {

namespace {

using ordered_json = nlohmann::ordered_json;

struct SweepOptions {
  std::string grid;
  std::string out;
  std::optional<int> jobs;
  bool retry_failed = false;
  std::string summarize;
  std::string rows;
  std::string cols;
  std::string value;
  bool json = false;
  std::string schedule = "dynamic";
};

using RegisterCommand = void (*)(CLI::App&, CommandTable&);

// The commands a sweep runs, and how each registers its flags.
const std::map<std::string, RegisterCommand>& sweepable_commands() {
  static const std::map<std::string, RegisterCommand> kCommands = {
      {"probe", register_probe_command},
      {"spectrum", register_spectrum_command},
      {"train", register_train_command}};
  return kCommands;
}

FlagKind flag_kind(const CLI::Option& option) {
  if (option.get_expected_min() == 0) return FlagKind::kSwitch;
  const std::string type = option.get_type_name();
  const std::string base = type.substr(0, type.find(':'));
  if (base == "INT") return FlagKind::kInteger;
  if (base == "UINT") return FlagKind::kUnsigned;
  if (base == "FLOAT") return FlagKind::kNumber;
  return FlagKind::kText;
}

// A command's flags, read from its real CLI11 options: the command is registered on a scratch
// app of its own, which also checks single values ("--act foo") with the command's validators.
FlagCatalogue catalogue_of(const std::string& name, RegisterCommand register_command) {
  auto scratch = std::make_shared<CLI::App>();
  auto table = std::make_shared<CommandTable>();
  register_command(*scratch, *table);
  const CLI::App* command = scratch->get_subcommand(name);
  FlagCatalogue catalogue;
  for (const CLI::Option* option : command->get_options()) {
    for (const std::string& flag : option->get_lnames()) catalogue.flags[flag] = flag_kind(*option);
  }
  catalogue.check = [scratch, table, name](const std::string& flag,
                                           const std::string& value) -> std::optional<std::string> {
    // CLI11 parses a reversed argument list, without the program name.
    std::vector<std::string> args = {value, "--" + flag, name};
    try {
      scratch->parse(args);
    } catch (const CLI::ParseError& e) {
      return std::string(e.what());
    }
    return std::nullopt;
  };
  return catalogue;
}

std::map<std::string, FlagCatalogue> catalogues() {
  std::map<std::string, FlagCatalogue> all;
  for (const auto& [name, register_command] : sweepable_commands()) {
    all[name] = catalogue_of(name, register_command);
  }
  return all;
}

std::string default_out(const std::string& grid) {
  return std::filesystem::path(grid).stem().string() + ".results.jsonl";
}

void print_outcome(const SweepOptions& options, const SweepJob& job, const SweepOutcome& outcome,
                   double seconds, int ranks, const std::vector<double>& rank_seconds) {
  const double rate = seconds > 0 ? static_cast<double>(outcome.ran) / seconds : 0.0;
  if (options.json) {
    ordered_json out = {{"points", job.points.size()},
                        {"ran", outcome.ran},
                        {"skipped", outcome.skipped},
                        {"ok", outcome.ok},
                        {"failed", outcome.failed},
                        {"out", job.out.string()},
                        {"ranks", ranks},
                        {"jobs", job.jobs},
                        {"seconds", seconds},
                        {"points_per_second", rate}};
    if (!rank_seconds.empty()) out["rank_seconds"] = rank_seconds;
    std::cout << out.dump() << '\n';
    return;
  }
  fmt::print(
      "sweep: {} points: ran {}, {} already done; {} ok, {} failed -> {} ({:.2f} s, {:.2f} "
      "points/s, {} rank{} x {} thread{})\n",
      job.points.size(), outcome.ran, outcome.skipped, outcome.ok, outcome.failed, job.out.string(),
      seconds, rate, ranks, ranks == 1 ? "" : "s", job.jobs, job.jobs == 1 ? "" : "s");
}

int run_sweep(const SweepOptions& options) {
  if (options.grid.empty()) throw_bad_input("gradscope sweep: give a GRID file or --summarize");
  SweepJob job;
  const Grid grid = read_grid(options.grid, catalogues());
  job.command = grid.command;
  job.points = enumerate_points(grid);
  job.out = options.out.empty() ? default_out(options.grid) : options.out;
  if (std::filesystem::exists(job.out) && std::filesystem::equivalent(job.out, options.grid)) {
    throw_bad_input("--out {}: that is the grid file", job.out.string());
  }
  job.jobs = options.jobs.value_or(default_sweep_jobs());
  job.retry_failed = options.retry_failed;

  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  if (launched_by_mpi()) {
    const MpiSweepOutcome mpi = run_mpi_sweep(
        job, options.schedule == "static" ? SweepSchedule::kStatic : SweepSchedule::kDynamic);
    if (mpi.refused) return kExitBadInput;
    if (mpi.rank == 0) {
      print_outcome(options, job, mpi.outcome, elapsed(), mpi.ranks, mpi.rank_seconds);
    }
    return kExitOk;
  }
  const SweepOutcome outcome = run_local_sweep(job);
  print_outcome(options, job, outcome, elapsed(), 1, {});
  return kExitOk;
}

std::string cell_text(const std::optional<double>& value) {
  return value ? fmt::format("{:.4g}", *value) : std::string("-");
}

std::string label_text(const ordered_json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

int run_summarize(const SweepOptions& options) {
  if (options.rows.empty() || options.cols.empty()) {
    throw_bad_input("--summarize needs --rows AXIS and --cols AXIS");
  }
  if (!std::filesystem::exists(options.summarize)) {
    throw_bad_input("--summarize {}: no such file", options.summarize);
  }
  const ResultFile file = read_result_file(options.summarize);
  if (file.records.empty()) throw_bad_input("--summarize {}: no results", options.summarize);
  const std::string value =
      options.value.empty()
          ? default_pivot_value(file.records.front().value("command", std::string()))
          : options.value;
  const PivotTable table = pivot_results(file.records, options.rows, options.cols, value);
  if (options.json) {
    std::cout << to_json(table).dump() << '\n';
    return kExitOk;
  }
  std::string over = "seed";
  if (!table.averaged_over.empty()) {
    over.clear();
    for (const std::string& name : table.averaged_over) {
      if (!over.empty()) over += ", ";
      over += name;
    }
  }
  fmt::print("{}: mean of {} over {}; rows {}, columns {}\n", options.summarize, table.value, over,
             table.rows, table.cols);
  std::size_t width = 10;
  for (const ordered_json& v : table.col_values) width = std::max(width, label_text(v).size());
  std::size_t first = table.rows.size() + table.cols.size() + 3;
  for (const ordered_json& v : table.row_values) first = std::max(first, label_text(v).size());
  fmt::print("{:<{}}", fmt::format("{} \\ {}", table.rows, table.cols), first);
  for (const ordered_json& v : table.col_values) fmt::print("  {:>{}}", label_text(v), width);
  fmt::print("\n");
  for (std::size_t r = 0; r < table.row_values.size(); ++r) {
    fmt::print("{:<{}}", label_text(table.row_values[r]), first);
    for (const std::optional<double>& cell : table.mean[r]) {
      fmt::print("  {:>{}}", cell_text(cell), width);
    }
    fmt::print("\n");
  }
  return kExitOk;
}

}  // namespace

void register_sweep_command(CLI::App& root, CommandTable& commands) {
  auto options = std::make_shared<SweepOptions>();
  CLI::App* command = root.add_subcommand(
      "sweep",
      "Run probe, spectrum or train at every point of a grid of settings (JSON, docs/sweeps.md) "
      "on local threads or across MPI ranks (mpirun -np N gradscope sweep ...); resumes after "
      "a kill. --summarize: a results file as a table pivoted on two settings");
  command->add_option("grid", options->grid, "The grid file (JSON)");
  command->add_option("--out", options->out,
                      "Results file (JSON Lines; default <grid name>.results.jsonl); an existing "
                      "one is resumed: the points it holds are not run again");
  command
      ->add_option("--jobs", options->jobs,
                   "Points run at once by this process (default: the cores, shared among the "
                   "MPI ranks of a node)")
      ->check(CLI::Range(1, 4096));
  command
      ->add_option("--schedule", options->schedule,
                   "Under mpirun: dynamic (rank 0 hands out points as ranks ask) or static "
                   "(point k on rank k mod N)")
      ->check(CLI::IsMember({"dynamic", "static"}))
      ->capture_default_str();
  command->add_flag("--retry-failed", options->retry_failed,
                    "Run again the points recorded as failed");
  CLI::Option* summarize =
      command->add_option("--summarize", options->summarize,
                          "Print a results file as a table (mean over seeds) instead of running");
  command->add_option("--rows", options->rows, "--summarize: the setting of the rows")
      ->needs(summarize);
  command->add_option("--cols", options->cols, "--summarize: the setting of the columns")
      ->needs(summarize);
  command
      ->add_option("--value", options->value,
                   "--summarize: the result field, a dotted path, optionally log10(...) (default: "
                   "log10(ratio_first_last) for probe, test.loss for train, "
                   "product.measured_log10_ratio for spectrum)")
      ->needs(summarize);
  command->add_flag("--json", options->json, "Print the summary (or the table) as JSON");
  commands[command] = [options] {
    if (!options->summarize.empty()) {
      if (!options->grid.empty()) throw_bad_input("give a GRID file or --summarize, not both");
      return run_summarize(*options);
    }
    return run_sweep(*options);
  };
}

}  // namespace gradscope::cli
