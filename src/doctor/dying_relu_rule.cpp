// Dying ReLU: a unit whose pre-activation is negative for every input outputs 0 and gets no
// gradient, so it never recovers; a layer whose units are all dead blocks the gradient to every
// layer below it. The log's `dead` is the fraction of a ReLU layer's units that output 0 for the
// whole batch.
#include <fmt/format.h>

#include "gradscope/doctor/rules.hpp"
#include "gradscope/doctor/run_profile.hpp"

namespace gradscope::doctor {

namespace {

// A layer is "dying" at >= 70% dead units (AUTOTRAINER's threshold), "dead" at >= 99%.
constexpr double kDyingLayer = 0.7;
constexpr double kDeadLayer = 0.99;
// ... at least half of the ReLU layers dying, or one layer dead, or half of all ReLU units dead,
// on at least half of the probed steps of the second half of training (units that die early in
// a run that heals are not it).
constexpr double kLayerFraction = 0.5;
constexpr double kUnitFraction = 0.5;
constexpr double kStepFraction = 0.5;

}  // namespace

std::optional<Finding> dying_relu_rule(const LoggedRun& run) {
  const std::vector<const LoggedStep*> probed = probed_steps(run);
  const std::size_t from = probed.size() / 2;
  long judged = 0;
  long dying_steps = 0;
  long first_step = 0;
  long last_step = 0;
  bool any_dead_layer = false;
  const LoggedStep* shown = nullptr;
  double shown_mean = 0.0;
  std::vector<double> means;
  for (std::size_t i = from; i < probed.size(); ++i) {
    const LoggedStep& step = *probed[i];
    long relu_layers = 0;
    long dying = 0;
    long dead = 0;
    double sum = 0.0;
    for (const LoggedLayer& layer : step.layers) {
      if (!is_relu(layer.activation) || !finite(layer.dead)) continue;
      ++relu_layers;
      sum += *layer.dead;
      if (*layer.dead >= kDyingLayer) ++dying;
      if (*layer.dead >= kDeadLayer) ++dead;
    }
    if (relu_layers == 0) continue;
    ++judged;
    const double mean = sum / static_cast<double>(relu_layers);
    means.push_back(mean);
    if (dead > 0 || mean >= kUnitFraction ||
        static_cast<double>(dying) >= kLayerFraction * static_cast<double>(relu_layers)) {
      ++dying_steps;
      any_dead_layer = any_dead_layer || dead > 0;
      if (first_step == 0) first_step = step.step;
      last_step = step.step;
      shown = &step;
      shown_mean = mean;
    }
  }
  if (judged == 0 || dying_steps == 0 ||
      static_cast<double>(dying_steps) < kStepFraction * static_cast<double>(judged)) {
    return std::nullopt;
  }
  // When did it start: the first probed step (whole run) with a dying layer.
  long onset = 0;
  for (const LoggedStep* step : probed) {
    for (const LoggedLayer& layer : step->layers) {
      if (is_relu(layer.activation) && finite(layer.dead) && *layer.dead >= kDyingLayer) {
        onset = step->step;
        break;
      }
    }
    if (onset != 0) break;
  }
  Finding f;
  f.code = std::string(kDyingRelu);
  f.severity = any_dead_layer ? Severity::kCritical : Severity::kWarning;
  std::string layers;
  long dead_layers = 0;
  for (const LoggedLayer& layer : shown->layers) {
    if (!is_relu(layer.activation) || !finite(layer.dead)) continue;
    if (*layer.dead >= kDyingLayer) {
      layers += fmt::format("{}{} {}", layers.empty() ? "" : ", ", layer.index, num(*layer.dead));
    }
    if (*layer.dead >= kDeadLayer) ++dead_layers;
  }
  f.summary = fmt::format(
      "Dying ReLU: {}% of ReLU units output 0 for the whole batch{}", num(100.0 * shown_mean),
      dead_layers > 0 ? fmt::format(", {} layer(s) entirely dead", dead_layers) : std::string());
  f.evidence.push_back(fmt::format("dead fraction by layer at step {} (layers >= {}): {}",
                                   shown->step, num(kDyingLayer), layers));
  f.evidence.push_back(
      fmt::format("on {} of {} probed steps of the second half ({}); first dying layer at step {}",
                  dying_steps, judged, step_range(first_step, last_step), onset));
  if (dead_layers > 0) {
    f.evidence.push_back("an entirely dead layer passes no gradient to the layers below it");
  }
  f.evidence_data = {{"dead_mean", shown_mean},    {"dead_layers", dead_layers},
                     {"steps_dying", dying_steps}, {"steps_judged", judged},
                     {"first_step", first_step},   {"last_step", last_step},
                     {"onset_step", onset},        {"step", shown->step}};
  const double lr = run.settings.lr.value_or(1e-3);
  f.prescriptions = {
      {fmt::format("Lower the learning rate 10x (from {}): large updates push units into the "
                   "dead region",
                   num(lr)),
       {"--lr", fmt::format("{:g}", lr / 10.0)}},
      {"Use leaky ReLU: a small negative slope keeps a gradient flowing through inactive units",
       {"--act", "leaky_relu"}},
      {"He initialisation with zero biases: units start in the active region", {"--init", "he"}}};
  return f;
}

}  // namespace gradscope::doctor
