// gradscope: parses the command line, runs one subcommand, maps errors to exit codes.
// This is the only place that catches gradscope::Error and prints it.
#include <fmt/format.h>

#include <cstdio>

#include "command.hpp"
#include "gradscope/core/error.hpp"
#include "gradscope/core/threads.hpp"

int main(int argc, char** argv) {
  using namespace gradscope::cli;
  CLI::App app{"gradscope: make gradient flow visible, explainable and fixable"};
  app.name("gradscope");
  app.set_version_flag("--version",
                       std::string("gradscope ") + GRADSCOPE_VERSION + "\n" + mpi_description());
  app.require_subcommand(1);
  app.fallthrough();
  CommandTable commands;
  register_probe_command(app, commands);
  register_train_command(app, commands);
  register_grad_command(app, commands);
  register_spectrum_command(app, commands);
  register_phase_command(app, commands);
  register_experiment_command(app, commands);
  register_report_command(app, commands);
  register_doctor_command(app, commands);
  register_sweep_command(app, commands);
  register_bench_command(app, commands);
  // Every command runs on one thread unless told otherwise (a sweep already runs a process per
  // core); given after the subcommand too.
  int threads = 1;
  app.add_option("--threads", threads, "Threads for large matrix products")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "gradscope: error: {} (see gradscope --help)\n", e.what());
    return kExitBadInput;
  }

  try {
    gradscope::set_thread_count(threads);
    for (const CLI::App* sub : app.get_subcommands()) return commands.at(sub)();
    return kExitBadInput;
  } catch (const gradscope::Error& e) {
    fmt::print(stderr, "gradscope: error: {}\n", e.what());
    return e.kind() == gradscope::ErrorKind::kBadInput ? kExitBadInput : kExitFailure;
  } catch (const std::exception& e) {
    fmt::print(stderr, "gradscope: error: {}\n", e.what());
    return kExitFailure;
  }
}
