// How subcommands plug into the gradscope executable: each cli/<name>_command.cpp registers its
// CLI11 subcommand and the function that runs it once the flags are parsed.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <map>

namespace gradscope::cli {

// Exit codes shared by every command (DESIGN.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitProblemFound = 3;

using CommandTable = std::map<const CLI::App*, std::function<int()>>;

void register_probe_command(CLI::App& root, CommandTable& commands);
void register_train_command(CLI::App& root, CommandTable& commands);
void register_grad_command(CLI::App& root, CommandTable& commands);
void register_spectrum_command(CLI::App& root, CommandTable& commands);
void register_phase_command(CLI::App& root, CommandTable& commands);
void register_experiment_command(CLI::App& root, CommandTable& commands);
void register_report_command(CLI::App& root, CommandTable& commands);
void register_doctor_command(CLI::App& root, CommandTable& commands);
void register_sweep_command(CLI::App& root, CommandTable& commands);
void register_bench_command(CLI::App& root, CommandTable& commands);

// "MPI: yes (Open MPI x.y.z)" or "MPI: no ...", for --version (cli/sweep_mpi.cpp).
std::string mpi_description();

}  // namespace gradscope::cli
