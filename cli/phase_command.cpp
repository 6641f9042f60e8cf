// gradscope phase: mean-field theory of a deep random network at initialisation (Poole et al.
// 2016, Schoenholz et al. 2017): where a point (sigma_w^2, sigma_b^2) sits between order and
// chaos, its depth scales and the depth it should train to; with --grid, the phase diagram.
// The numbers come from analysis/mean_field.hpp; this file parses and prints.
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "command.hpp"
#include "gradscope/analysis/mean_field.hpp"
#include "gradscope/core/error.hpp"
#include "gradscope/probe/run_log.hpp"

namespace gradscope::cli {

namespace {

struct PhaseOptions {
  std::string act = "tanh";
  std::optional<double> sigma_w2;
  double sigma_b2 = 0.05;
  bool grid = false;
  bool json = false;
  std::uint64_t seed = 0;  // accepted like every command's, unused: nothing here is random
};

// The grid of --grid: sigma_w^2 = 0.5, 0.75, ..., 4 (rows) by sigma_b^2 = 0, 0.05, ..., 0.5.
constexpr int kGridWeightSteps = 15;
constexpr int kGridBiasSteps = 11;
double grid_sigma_w2(int i) { return 0.5 + i / 4.0; }
double grid_sigma_b2(int j) { return j / 20.0; }

ActivationKind checked_activation(const std::string& name) {
  if (name == "tanh") return ActivationKind::kTanh;
  if (name == "relu") return ActivationKind::kRelu;
  if (name == "sigmoid") return ActivationKind::kSigmoid;
  if (name == "gelu") return ActivationKind::kGelu;
  throw_bad_input("--act {}: mean-field theory is available for tanh, relu, sigmoid and gelu",
                  name);
}

void check_variance(const char* flag, double value) {
  if (!std::isfinite(value) || value < 0.0) {
    throw_bad_input("{} {}: a variance must be a finite number >= 0", flag, value);
  }
}

// Table cells: "inf" for +inf, "n/a" for the undefined (NaN) quantities of a diverging length.
std::string number(double value, int digits = 6) {
  if (std::isnan(value)) return "n/a";
  if (std::isinf(value)) return value > 0.0 ? "inf" : "-inf";
  return fmt::format("{:.{}g}", value, digits);
}

char phase_letter(MeanFieldPhase phase) {
  switch (phase) {
    case MeanFieldPhase::kOrdered:
      return 'o';
    case MeanFieldPhase::kCritical:
      return 'c';
    case MeanFieldPhase::kChaotic:
      return 'x';
  }
  return '?';
}

int run_point(const PhaseOptions& options, ActivationKind act) {
  const double critical = critical_sigma_w2(act, options.sigma_b2);
  const double sigma_w2 = options.sigma_w2.value_or(critical);
  const MeanField m = mean_field(act, sigma_w2, options.sigma_b2);

  if (options.json) {
    const nlohmann::json out = {
        {"activation", activation_name(act)},
        {"sigma_w2", sigma_w2},
        {"sigma_b2", options.sigma_b2},
        {"critical_sigma_w2", finite_or_null(critical)},
        {"q_star", finite_or_null(m.q_star)},
        {"chi1", finite_or_null(m.chi1)},
        {"c_star", finite_or_null(m.c_star)},
        {"chi_c", finite_or_null(m.chi_c)},
        {"xi_q", finite_or_null(m.xi_q)},
        {"xi_c", finite_or_null(m.xi_c)},
        {"phase", phase_name(m.phase)},
        {"trainable_depth", finite_or_null(m.trainable_depth)},
    };
    std::cout << out.dump() << '\n';
    return kExitOk;
  }

  fmt::print("gradscope phase: {}, sigma_w^2 = {}{}, sigma_b^2 = {}\n", activation_name(act),
             number(sigma_w2, 7), options.sigma_w2 ? "" : " (the critical value)",
             number(options.sigma_b2));
  const auto row = [](std::string_view name, const std::string& value, std::string_view note) {
    fmt::print("  {:<20} {:>12}  {}\n", name, value, note);
  };
  row("critical sigma_w^2", number(critical, 7), "chi_1 = 1 at this sigma_b^2");
  row("q*", number(m.q_star),
      std::isinf(m.q_star) ? "no finite fixed point: the pre-activations' variance diverges"
                           : "fixed point of the length map");
  row("chi_1", number(m.chi1),
      "sigma_w^2 E[phi'(sqrt(q*) z)^2]; gradients scale by sqrt per layer");
  row("xi_q", number(m.xi_q), "depth scale of the length map");
  row("xi_c", number(m.xi_c), "depth scale of the correlation map");
  row("c*", number(m.c_star), "fixed point of the correlation map");
  row("phase", std::string(phase_name(m.phase)),
      m.phase == MeanFieldPhase::kOrdered   ? "gradients vanish with depth"
      : m.phase == MeanFieldPhase::kChaotic ? "gradients explode with depth"
                                            : "gradients keep their size");
  row("trainable depth", number(m.trainable_depth, 4), "6 xi_c (Schoenholz et al. 2017)");
  if (!options.sigma_w2 && m.phase != MeanFieldPhase::kCritical) {
    fmt::print(
        "note: chi_1 jumps over 1 at this boundary ({} is bistable here: a small fixed point "
        "below it, divergence above)\n",
        activation_name(act));
  }
  return kExitOk;
}

int run_grid(const PhaseOptions& options, ActivationKind act) {
  std::vector<double> critical(kGridBiasSteps);
  for (int j = 0; j < kGridBiasSteps; ++j) critical[j] = critical_sigma_w2(act, grid_sigma_b2(j));
  std::vector<std::vector<MeanField>> points(kGridWeightSteps);
  for (int i = 0; i < kGridWeightSteps; ++i) {
    for (int j = 0; j < kGridBiasSteps; ++j) {
      points[i].push_back(mean_field(act, grid_sigma_w2(i), grid_sigma_b2(j)));
    }
  }

  if (options.json) {
    nlohmann::json grid = nlohmann::json::array();
    for (int i = 0; i < kGridWeightSteps; ++i) {
      for (int j = 0; j < kGridBiasSteps; ++j) {
        const MeanField& m = points[i][j];
        grid.push_back({{"sigma_w2", m.sigma_w2},
                        {"sigma_b2", m.sigma_b2},
                        {"q_star", finite_or_null(m.q_star)},
                        {"chi1", finite_or_null(m.chi1)},
                        {"xi_c", finite_or_null(m.xi_c)},
                        {"phase", phase_name(m.phase)}});
      }
    }
    nlohmann::json line = nlohmann::json::array();
    for (int j = 0; j < kGridBiasSteps; ++j) {
      line.push_back(
          {{"sigma_b2", grid_sigma_b2(j)}, {"critical_sigma_w2", finite_or_null(critical[j])}});
    }
    const nlohmann::json out = {
        {"activation", activation_name(act)}, {"grid", grid}, {"critical_line", line}};
    std::cout << out.dump() << '\n';
    return kExitOk;
  }

  fmt::print("gradscope phase --grid: {}; chi_1 and phase (o ordered, c critical, x chaotic)\n",
             activation_name(act));
  fmt::print("{:>10}", "w2 \\ b2");
  for (int j = 0; j < kGridBiasSteps; ++j) fmt::print("  {:>7.2f}", grid_sigma_b2(j));
  fmt::print("\n");
  for (int i = 0; i < kGridWeightSteps; ++i) {
    fmt::print("{:>10.2f}", grid_sigma_w2(i));
    for (const MeanField& m : points[i]) {
      fmt::print("  {:>5.3f} {}", m.chi1, phase_letter(m.phase));
    }
    fmt::print("\n");
  }
  fmt::print("critical sigma_w^2 (chi_1 = 1) by sigma_b^2:\n{:>10}  {:>12}\n", "sigma_b2",
             "sigma_w2");
  for (int j = 0; j < kGridBiasSteps; ++j) {
    fmt::print("{:>10.2f}  {:>12}\n", grid_sigma_b2(j), number(critical[j], 7));
  }
  return kExitOk;
}

int run_phase(const PhaseOptions& options) {
  const ActivationKind act = checked_activation(options.act);
  if (options.sigma_w2) check_variance("--sigma-w2", *options.sigma_w2);
  check_variance("--sigma-b2", options.sigma_b2);
  return options.grid ? run_grid(options, act) : run_point(options, act);
}

}  // namespace

void register_phase_command(CLI::App& root, CommandTable& commands) {
  auto options = std::make_shared<PhaseOptions>();
  CLI::App* command = root.add_subcommand(
      "phase",
      "Mean-field theory at initialisation: order/chaos phase, chi_1, depth scales, critical "
      "sigma_w^2 and the predicted trainable depth (6 xi_c) of a deep random network");
  command->add_option("--act", options->act, "Activation: tanh, relu, sigmoid, gelu")
      ->capture_default_str();
  CLI::Option* sigma_w2 = command->add_option(
      "--sigma-w2", options->sigma_w2,
      "Weight variance: W ~ N(0, sigma_w2 / fan_in) (default: the critical value)");
  CLI::Option* sigma_b2 =
      command->add_option("--sigma-b2", options->sigma_b2, "Bias variance: b ~ N(0, sigma_b2)")
          ->capture_default_str();
  command
      ->add_flag("--grid", options->grid,
                 "The phase diagram: chi_1 and phase over sigma_w2 = 0.5..4 (step 0.25) x "
                 "sigma_b2 = 0..0.5 (step 0.05), and the critical sigma_w2 per sigma_b2")
      ->excludes(sigma_w2)
      ->excludes(sigma_b2);
  command->add_flag("--json", options->json, "Print the results as one JSON object");
  command->add_option("--seed", options->seed,
                      "Accepted like every command's; unused (the theory has nothing random)");
  commands[command] = [options] { return run_phase(*options); };
}

}  // namespace gradscope::cli
