// Saturation ("Why Deep Feedforward Networks Have This Problem"): sigmoid and tanh units whose
// pre-activations sit where the derivative is ~0 pass no gradient. The log's `saturated` is the
// fraction of (unit, sample) pairs with a derivative below 1% of its maximum.
#include <fmt/format.h>

#include "gradscope/doctor/rules.hpp"
#include "gradscope/doctor/run_profile.hpp"

namespace gradscope::doctor {

namespace {

// Mean pinned fraction over the saturating layers; on at least half of the probed steps.
constexpr double kSaturated = 0.3;
constexpr double kCritical = 0.6;
constexpr double kMinFraction = 0.5;

}  // namespace

std::optional<Finding> saturation_rule(const LoggedRun& run) {
  long probed = 0;
  long saturated_steps = 0;
  long first_step = 0;
  long last_step = 0;
  std::vector<double> means;
  const LoggedLayer* worst = nullptr;
  long worst_step = 0;
  for (const LoggedStep* step : probed_steps(run)) {
    double sum = 0.0;
    long count = 0;
    for (const LoggedLayer& layer : step->layers) {
      if (!is_saturating(layer.activation) || !finite(layer.saturated)) continue;
      sum += *layer.saturated;
      ++count;
      if (!worst || *layer.saturated > *worst->saturated) {
        worst = &layer;
        worst_step = step->step;
      }
    }
    if (count == 0) continue;
    ++probed;
    const double mean = sum / static_cast<double>(count);
    means.push_back(mean);
    if (mean >= kSaturated) {
      ++saturated_steps;
      if (first_step == 0) first_step = step->step;
      last_step = step->step;
    }
  }
  if (probed == 0 || saturated_steps == 0 ||
      static_cast<double>(saturated_steps) < kMinFraction * static_cast<double>(probed)) {
    return std::nullopt;
  }
  const double typical = median(means);
  Finding f;
  f.code = std::string(kSaturation);
  f.severity = typical >= kCritical ? Severity::kCritical : Severity::kWarning;
  f.summary = fmt::format(
      "Saturation: {}% of sigmoid/tanh units are pinned where their derivative is < 1% of its "
      "maximum",
      num(100.0 * typical));
  f.evidence.push_back(fmt::format(
      "mean saturated fraction of the sigmoid/tanh layers {} (median over probed steps), >= {} on "
      "{} of {} probed steps ({})",
      num(typical), num(kSaturated), saturated_steps, probed, step_range(first_step, last_step)));
  f.evidence.push_back(fmt::format("most saturated: layer {} ({}, {}) at step {}: {}", worst->index,
                                   worst->name, worst->activation, worst_step,
                                   num(*worst->saturated)));
  f.evidence_data = {{"saturated_mean", typical},
                     {"steps_saturated", saturated_steps},
                     {"steps_probed", probed},
                     {"first_step", first_step},
                     {"last_step", last_step},
                     {"worst_layer", worst->index},
                     {"worst_saturated", *worst->saturated}};
  f.prescriptions = {
      {"Switch to ReLU (He init): no saturating tail, derivative 1 in the active region",
       {"--act", "relu", "--init", "he"}},
      {"Normalise pre-activations (batch norm) so they stay in the nonlinearity's linear range",
       {"--norm", "batch"}},
      {"Re-initialise at Xavier scale: large weights or biases push units into the tails",
       {"--init", "xavier"}}};
  return f;
}

}  // namespace gradscope::doctor
