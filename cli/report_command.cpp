// gradscope report DIR -o report.html: one self-contained HTML file (report/html_report.hpp) from
// an experiment run's folder, and static SVG copies of its figures beside their specs when Node.js
// is on PATH (report/svg_copies.hpp).
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "gradscope/core/error.hpp"
#include "gradscope/experiments/run_directory.hpp"
#include "gradscope/report/html_report.hpp"
#include "gradscope/report/svg_copies.hpp"

#ifndef GRADSCOPE_REPORT_ASSETS_DIR
#define GRADSCOPE_REPORT_ASSETS_DIR ""
#endif

namespace gradscope::cli {

namespace {

struct ReportOptions {
  std::string run_dir;
  std::string output = "report.html";
  std::string assets = GRADSCOPE_REPORT_ASSETS_DIR;
  bool svg = true;
  bool json = false;
  std::uint64_t seed = 0;  // accepted like every command's, unused: nothing here is random
};

int run_report(const ReportOptions& options) {
  // Everything is read and checked before anything is written.
  const ReportAssets assets = load_report_assets(options.assets);
  const ReportInput input = read_report_input(options.run_dir);
  const std::filesystem::path output(options.output);
  const std::filesystem::path parent =
      output.has_parent_path() ? output.parent_path() : std::filesystem::path(".");
  if (!std::filesystem::is_directory(parent)) {
    throw_bad_input("-o {}: the directory {} does not exist", options.output, parent.string());
  }
  write_file_atomically(output, render_html_report(input, assets));
  const bool svg = options.svg && render_svg_copies(options.assets, options.run_dir);

  if (options.json) {
    std::cout << nlohmann::json{{"report", options.output},
                                {"figures", input.figure_count()},
                                {"svg", svg}}
                     .dump()
              << '\n';
    return kExitOk;
  }
  fmt::print("wrote {} ({} experiments, {} figures): open it in a browser, no network needed\n",
             options.output, input.experiments.size(), input.figure_count());
  if (svg) {
    fmt::print("wrote SVG copies of the figures beside their specs in {}/<experiment>/\n",
               options.run_dir);
  } else if (options.svg) {
    fmt::print("node not found on PATH: no SVG copies of the figures\n");
  }
  return kExitOk;
}

}  // namespace

void register_report_command(CLI::App& root, CommandTable& commands) {
  auto options = std::make_shared<ReportOptions>();
  CLI::App* command = root.add_subcommand(
      "report",
      "One self-contained HTML file (opens offline) from an experiment run's folder: the "
      "verdicts, the settings and every figure as an interactive chart; SVG copies of the "
      "figures when Node.js is available");
  command->add_option("dir", options->run_dir, "The folder `gradscope experiment --out` wrote")
      ->required();
  command->add_option("-o,--output", options->output, "The HTML file to write")
      ->capture_default_str();
  command
      ->add_option("--assets", options->assets,
                   "Folder holding node_modules/{vega,vega-lite,vega-embed} and render_svg.mjs "
                   "(the build's report/ folder)")
      ->capture_default_str();
  command->add_flag("!--no-svg", options->svg, "Do not render the SVG copies");
  command->add_flag("--json", options->json, "Print JSON instead of text");
  command->add_option("--seed", options->seed, "Accepted for uniformity; unused");
  command->footer("Exit status: 0 written, 2 bad input (missing folder, results or assets).");
  commands[command] = [options] { return run_report(*options); };
}

}  // namespace gradscope::cli
