// gradscope spectrum: the geometric picture of a model at initialisation. Per layer (or per time
// step) the Jacobian's spectral radius next to its spectral norm and smallest singular value;
// then the product over the model: its singular values, Lyapunov exponents, and the first/last
// gradient ratio as the article predicts it (rho^T), as the singular values predict it, and as
// the backward pass measures it. Always in float64 (analysis/spectrum_report.hpp).
#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "gradscope/analysis/spectrum_report.hpp"
#include "gradscope/probe/run_log.hpp"
#include "model_options.hpp"
#include "progress.hpp"

namespace gradscope::cli {

namespace {

struct SpectrumCommandOptions {
  ModelOptions model;
  long lyapunov = 0;
  long sample = 0;
  long layer = 0;
  bool singular_values = false;
  bool json = false;
  long rows = 25;
};

// One progress bar per stage, on stderr, only where the work is long enough to be worth one.
class StageProgress {
 public:
  static constexpr Index kWorthABar = 64;

  void operator()(std::string_view stage, Index done, Index total) {
    if (total < kWorthABar) return;
    if (stage != stage_) {
      finish();
      stage_ = std::string(stage);
      bar_ = std::make_unique<Progress>(fmt::format("spectrum: {}", stage), total, total / 4 + 1);
    }
    bar_->update(done);
  }
  void finish() {
    if (bar_) bar_->finish();
    bar_.reset();
  }

 private:
  std::string stage_;
  std::unique_ptr<Progress> bar_;
};

nlohmann::json to_json(const FactorSpectrum& f, bool recurrent) {
  nlohmann::json out = {{recurrent ? "t" : "index", f.index},
                        {"kind", f.kind},
                        {"rows", f.spectrum.rows},
                        {"cols", f.spectrum.cols},
                        {"spectral_radius", finite_or_null(f.spectrum.spectral_radius)},
                        {"spectral_norm", finite_or_null(f.spectrum.spectral_norm)},
                        {"sigma_min", finite_or_null(f.spectrum.sigma_min)}};
  if (!recurrent) out["name"] = f.name;
  if (!f.spectrum.singular_values.empty()) out["singular_values"] = f.spectrum.singular_values;
  return out;
}

nlohmann::json to_json(const ProductSummary& p) {
  nlohmann::json lyapunov = nlohmann::json::array();
  for (double lambda : p.lyapunov) lyapunov.push_back(finite_or_null(lambda));
  nlohmann::json out = {
      {"span", p.span},
      {"factors", p.factors},
      {"dimension", p.dimension},
      {"log10_sigma_max", finite_or_null(p.log10_sigma_max)},
      {"log10_sigma_min", finite_or_null(p.log10_sigma_min)},
      {"singular_values_converged", p.singular_values_converged},
      {"singular_values_last_change", finite_or_null(p.singular_values_last_change)},
      {"lyapunov", lyapunov},
      {"predicted_log10_ratio", finite_or_null(p.predicted_log10_ratio)},
      {"lyapunov_log10_ratio", finite_or_null(p.lyapunov_log10_ratio)},
      {"measured_log10_ratio", finite_or_null(p.measured_log10_ratio)}};
  if (p.recommended_window) {
    out["predicted_horizon"] = finite_or_null(p.predicted_horizon);
    out["measured_horizon"] =
        p.measured_horizon ? nlohmann::json(*p.measured_horizon) : nlohmann::json(nullptr);
    out["recommended_tbptt"] = *p.recommended_window;
  }
  return out;
}

std::string number_or_dash(const std::optional<double>& value, const char* format) {
  return value ? fmt::format(fmt::runtime(format), *value) : std::string("-");
}

void print_table(const SpectrumReport& report, bool recurrent, long rows) {
  const std::size_t count = report.factors.size();
  // Long models: every k-th layer or step (and the last), so the table stays readable.
  const std::size_t stride =
      rows > 0 && count > static_cast<std::size_t>(rows) ? (count + rows - 1) / rows : 1;
  fmt::print("{:>6}  {:<10}  {:>9}  {:>12}  {:>13}  {:>10}\n", recurrent ? "t" : "layer", "kind",
             "shape", "rho (radius)", "||J||_2", "sigma_min");
  for (std::size_t i = 0; i < count; ++i) {
    if (i % stride != 0 && i + 1 != count) continue;
    const FactorSpectrum& f = report.factors[i];
    fmt::print("{:>6}  {:<10}  {:>9}  {:>12}  {:>13.4f}  {:>10.4f}\n", f.index, f.kind,
               fmt::format("{}x{}", f.spectrum.rows, f.spectrum.cols),
               number_or_dash(f.spectrum.spectral_radius, "{:.4f}"), f.spectrum.spectral_norm,
               f.spectrum.sigma_min);
  }
  if (stride > 1) {
    fmt::print("(every {}th {} shown; --rows 0 or --json for all)\n", stride,
               recurrent ? "step" : "layer");
  }

  const ProductSummary& p = report.product;
  fmt::print("\nproduct over {} ({} factors, acting on {} dimensions):\n", p.span, p.factors,
             p.dimension);
  fmt::print(
      "  log10 sigma_max {:.4f}, log10 sigma_min {:.4f}{}\n", p.log10_sigma_max, p.log10_sigma_min,
      p.singular_values_converged ? ""
                                  : fmt::format(" (last pass still moved a log10 value by {:.1e})",
                                                p.singular_values_last_change / std::log(10.0)));
  const std::size_t shown = std::min<std::size_t>(p.lyapunov.size(), 8);
  std::string exponents;
  for (std::size_t i = 0; i < shown; ++i) exponents += fmt::format(" {:.4f}", p.lyapunov[i]);
  fmt::print("  Lyapunov exponents per factor (natural log, top {} of {}):{}\n", shown,
             p.lyapunov.size(), exponents);
  fmt::print("  log10 of the first/last gradient ratio:\n");
  fmt::print("    predicted from rho (the article's rho^T)  {}\n",
             number_or_dash(p.predicted_log10_ratio, "{:>9.4f}"));
  fmt::print("    predicted from the singular values        {:>9.4f}\n", p.lyapunov_log10_ratio);
  fmt::print("    measured by the backward pass             {:>9.4f}\n", p.measured_log10_ratio);
  if (p.recommended_window) {
    fmt::print(
        "  memory horizon (gradient above 1e-6 of its size): predicted {} steps from lambda_1 = "
        "{:.4f}, measured {}\n",
        number_or_dash(p.predicted_horizon, "{:.1f}"), p.lyapunov.front(),
        p.measured_horizon ? fmt::format("{} steps", *p.measured_horizon) : "beyond the sequence");
    fmt::print("  recommended truncation window: --tbptt {}\n", *p.recommended_window);
  }
}

int run_spectrum(const SpectrumCommandOptions& options) {
  ModelOptions o = options.model;
  o.dtype = "float64";
  SpectrumOptions analysis;
  analysis.lyapunov = options.lyapunov;
  analysis.sample = options.sample;
  analysis.layer = options.layer;
  analysis.all_singular_values = options.singular_values;
  analysis.seed = o.seed;
  StageProgress progress;
  analysis.progress = [&progress](std::string_view stage, Index done, Index total) {
    progress(stage, done, total);
  };

  SpectrumReport report;
  const bool recurrent = is_recurrent(o);
  if (recurrent) {
    RecurrentSetup<double> made = make_recurrent<double>(o);
    SequenceBatch<double> batch;
    made.task->next_batch(o.batch, batch);
    const std::unique_ptr<Loss<double>> loss = make_loss<double>(made.task->loss());
    report = analyse_recurrent(*made.model, batch, *loss, analysis);
  } else {
    FeedForwardSetup<double> made = make_feed_forward<double>(o);
    Batch<double> batch;
    made.task->next_batch(o.batch, batch);
    const std::unique_ptr<Loss<double>> loss = make_loss<double>(made.task->loss());
    report = analyse_network(made.network, batch.x, batch.targets, *loss, analysis);
  }
  progress.finish();

  if (options.json) {
    nlohmann::json factors = nlohmann::json::array();
    for (const FactorSpectrum& f : report.factors) factors.push_back(to_json(f, recurrent));
    const nlohmann::json out = {{"model", describe_model(o)},
                                {"sample", options.sample},
                                {recurrent ? "steps" : "layers", factors},
                                {"product", to_json(report.product)}};
    std::cout << out.dump() << '\n';
    return kExitOk;
  }
  fmt::print("gradscope spectrum: {} (Jacobians at sample {})\n", describe_model(o),
             options.sample);
  print_table(report, recurrent, options.rows);
  return kExitOk;
}

}  // namespace

void register_spectrum_command(CLI::App& root, CommandTable& commands) {
  auto options = std::make_shared<SpectrumCommandOptions>();
  options->model.dtype = "float64";
  CLI::App* command = root.add_subcommand(
      "spectrum",
      "Jacobian spectra at initialisation: rho, ||J|| and sigma_min per layer or step, then the "
      "product's singular values, Lyapunov exponents and predicted vs measured gradient ratio "
      "(always float64)");
  add_model_options(*command, options->model);
  add_task_options(*command, options->model);
  command
      ->add_option("--lyapunov", options->lyapunov,
                   "Lyapunov exponents to compute (top K); 0 = all")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--sample", options->sample, "Which sample of the batch to take Jacobians at")
      ->check(CLI::NonNegativeNumber);
  command
      ->add_option("--layer", options->layer,
                   "Recurrent models: which recurrent layer (0 = next to the input)")
      ->check(CLI::NonNegativeNumber);
  command->add_flag("--singular-values", options->singular_values,
                    "Every singular value of every factor (in --json output)");
  command
      ->add_option("--rows", options->rows,
                   "Table rows for deep or long models (every k-th layer or step); 0 = all")
      ->check(CLI::NonNegativeNumber);
  command->add_flag("--json", options->json, "Print JSON instead of a table");
  commands[command] = [options] { return run_spectrum(*options); };
}

}  // namespace gradscope::cli
