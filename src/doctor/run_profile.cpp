#include "gradscope/doctor/run_profile.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace gradscope::doctor {

bool positive(const std::optional<double>& value) {
  return value && std::isfinite(*value) && *value > 0.0;
}

bool finite(const std::optional<double>& value) { return value && std::isfinite(*value); }

bool is_recurrent_layer(const LoggedLayer& layer) {
  const std::string& k = layer.kind;
  return k == "rnn_tanh" || k == "rnn_relu" || k == "lstm" || k == "gru" || k == "rnn" ||
         layer.name.rfind("rnn.", 0) == 0;
}

bool is_recurrent_run(const LoggedRun& run) {
  const std::string& m = run.settings.model;
  if (m == "rnn" || m == "lstm" || m == "gru" || !run.settings.cell.empty()) return true;
  for (const LoggedStep* step : probed_steps(run)) {
    if (!step->time_steps.empty()) return true;
    for (const LoggedLayer& layer : step->layers) {
      if (is_recurrent_layer(layer)) return true;
    }
  }
  return false;
}

bool is_saturating(std::string_view activation) {
  return activation == "sigmoid" || activation == "tanh";
}

bool is_relu(std::string_view activation) { return activation == "relu"; }

std::vector<const LoggedStep*> probed_steps(const LoggedRun& run) {
  std::vector<const LoggedStep*> probed;
  for (const LoggedStep& step : run.steps) {
    if (!step.layers.empty() || !step.time_steps.empty()) probed.push_back(&step);
  }
  return probed;
}

std::optional<DepthProfile> depth_profile(const LoggedStep& step) {
  DepthProfile profile;
  profile.step = step.step;
  std::vector<double> x;
  for (const LoggedLayer& layer : step.layers) {
    if (is_recurrent_layer(layer) || !positive(layer.grad_norm)) continue;
    profile.index.push_back(layer.index);
    profile.log10_grad.push_back(std::log10(*layer.grad_norm));
    x.push_back(static_cast<double>(layer.index));
  }
  if (profile.index.size() < 3) return std::nullopt;
  const LineFit fit = fit_line(x, profile.log10_grad);
  profile.slope = fit.slope;
  profile.decades = profile.log10_grad.back() - profile.log10_grad.front();
  profile.decades_fit = fit.slope * (x.back() - x.front());
  return profile;
}

std::optional<TimeProfile> time_profile(const LoggedTimeSteps& curve, long step, double floor,
                                        bool truncated) {
  const std::vector<std::optional<double>>& g = curve.grad_norm;
  if (g.size() < 2 || !positive(g.back())) return std::nullopt;
  TimeProfile profile;
  profile.step = step;
  profile.layer = curve.layer;
  profile.length = static_cast<long>(g.size());
  profile.last = *g.back();
  const double log_last = std::log10(profile.last);
  profile.horizon = profile.length;
  std::vector<double> x;
  std::vector<double> y;
  double first_log = log_last;
  for (long t = profile.length - 1; t >= 0; --t) {
    const std::optional<double>& value = g[static_cast<std::size_t>(t)];
    if (!finite(value)) continue;
    if (*value <= 0.0) {
      if (truncated) continue;
      profile.horizon = profile.length - 1 - t;  // an exact zero: no gradient at all
      break;
    }
    const double log_value = std::log10(*value);
    first_log = log_value;
    if (*value < floor * profile.last) {
      profile.horizon = profile.length - 1 - t;
      x.push_back(static_cast<double>(profile.length - 1 - t));
      y.push_back(log_value);
      break;
    }
    x.push_back(static_cast<double>(profile.length - 1 - t));
    y.push_back(log_value);
  }
  profile.decades = first_log - log_last;
  if (x.size() >= 2) profile.decades_per_step = -fit_line(x, y).slope;
  return profile;
}

std::optional<LossTrend> loss_trend(const LoggedRun& run) {
  std::vector<double> losses;
  std::vector<long> steps;
  for (const LoggedStep& step : run.steps) {
    if (!finite(step.loss)) continue;
    losses.push_back(*step.loss);
    steps.push_back(step.step);
  }
  if (losses.size() < 6) return std::nullopt;
  const std::size_t n = losses.size();
  const std::size_t window = std::clamp<std::size_t>(n / 10, 3, 50);
  LossTrend trend;
  trend.count = static_cast<long>(n);
  trend.first_step = steps.front();
  trend.last_step = steps.back();
  trend.first = median({losses.begin(), losses.begin() + static_cast<std::ptrdiff_t>(window)});
  trend.last = median({losses.end() - static_cast<std::ptrdiff_t>(window), losses.end()});
  trend.min = *std::min_element(losses.begin(), losses.end());
  return trend;
}

std::optional<double> final_loss(const LoggedRun& run) {
  for (auto it = run.evals.rbegin(); it != run.evals.rend(); ++it) {
    if (finite(it->loss)) return it->loss;
  }
  if (const std::optional<LossTrend> trend = loss_trend(run)) return trend->last;
  return std::nullopt;
}

std::string num(double value) { return fmt::format("{:.3g}", value); }

std::string step_range(long first, long last) {
  return first == last ? fmt::format("step {}", first) : fmt::format("steps {}-{}", first, last);
}

}  // namespace gradscope::doctor
