// Exploding gradients (the article's second bullet: "loss diverges, NaNs appear"). Four signs,
// strongest first: a non-finite loss, gradient or weight, localised to the step and the layer
// where it first appeared; loss divergence; gradients growing toward the input (depth) or back
// through time; spikes of the global gradient norm against its running median.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "gradscope/doctor/rules.hpp"
#include "gradscope/doctor/run_profile.hpp"

namespace gradscope::doctor {

namespace {

// The loss ends >= 10x above where it started: divergence, not noise.
constexpr double kDivergence = 10.0;
// Growth of >= 2 decades (100x) toward the input or back through time on >= 1/4 of the probed
// steps (exploding is transient: it may be cured by the damage it does), or a persistent growth
// of >= 1 decade (the median over the probed steps).
constexpr double kGrowthDecades = 2.0;
constexpr double kGrowthFraction = 0.25;
constexpr double kPersistentDecades = 1.0;
// A spike: the global norm >= 10x the median of the previous 20 steps; >= 3 of them.
constexpr double kSpikeFactor = 10.0;
constexpr std::size_t kSpikeWindow = 20;
constexpr long kMinSpikes = 3;

struct FirstNonfinite {
  long step = 0;
  std::string what;       // "loss", "gradient", "weight"
  std::string parameter;  // e.g. "4.weight"
  std::string layer;      // e.g. "layer 3 (4)"
  long layer_index = 0;
};

std::optional<FirstNonfinite> first_nonfinite(const LoggedRun& run) {
  const std::vector<const LoggedStep*> probed = probed_steps(run);
  for (const LoggedStep& step : run.steps) {
    const bool loss_bad = step.nonfinite_loss || (step.loss && !std::isfinite(*step.loss));
    const bool grad_bad =
        step.nonfinite_grad || (step.grad_norm && !std::isfinite(*step.grad_norm));
    bool layer_bad = false;
    for (const LoggedLayer& layer : step.layers) layer_bad = layer_bad || layer.nonfinite;
    if (!loss_bad && !grad_bad && !step.nonfinite_weight && !layer_bad) continue;
    FirstNonfinite first;
    first.step = step.step;
    first.what = loss_bad ? "loss" : grad_bad ? "gradient" : "weight";
    first.parameter = step.first_nonfinite;
    // The layer: the one named by the first non-finite parameter, else the first flagged layer
    // on this or the next probed step.
    const std::string layer_name = first.parameter.substr(0, first.parameter.rfind('.'));
    for (const LoggedStep* p : probed) {
      if (p->step < step.step) continue;
      for (const LoggedLayer& layer : p->layers) {
        const bool named = !layer_name.empty() && layer.name == layer_name;
        if (named || (layer_name.empty() && layer.nonfinite)) {
          first.layer_index = layer.index;
          first.layer = fmt::format("layer {} ({})", layer.index, layer.name);
          break;
        }
      }
      if (!first.layer.empty()) break;
    }
    return first;
  }
  return std::nullopt;
}

std::vector<Prescription> prescriptions(const LoggedRun& run, bool growth_at_init) {
  const RunSettings& s = run.settings;
  const double lr = s.lr.value_or(1e-3);
  Prescription clip{"Clip the gradient norm (the article: threshold often 1 or 5)",
                    {"--clip", "1"}};
  Prescription lower_lr{fmt::format("Lower the learning rate 10x (from {})", num(lr)),
                        {"--lr", fmt::format("{:g}", lr / 10.0)}};
  Prescription init;
  if (is_recurrent_run(run)) {
    init = {"Re-initialise W_hh with spectral radius 1 (orthogonal): rho > 1 grows like rho^T",
            {"--init", "orthogonal", "--rho", "1"}};
  } else if (s.act == "relu" || s.act == "leaky_relu" || s.act == "gelu") {
    init = {"Check the initialisation: He (Var(W) = 2/fan_in) keeps each layer's gain at 1",
            {"--init", "he"}};
  } else {
    init = {"Check the initialisation: Xavier keeps each tanh/sigmoid layer's gain near 1",
            {"--init", "xavier"}};
  }
  if (growth_at_init) return {init, clip, lower_lr};
  if (s.clip) return {lower_lr, init};
  return {clip, lower_lr, init};
}

}  // namespace

std::optional<Finding> exploding_gradient_rule(const LoggedRun& run) {
  Finding f;
  f.code = std::string(kExplodingGradient);
  nlohmann::json data = nlohmann::json::object();
  bool critical = false;
  bool growth = false;

  if (const std::optional<FirstNonfinite> first = first_nonfinite(run)) {
    critical = true;
    f.summary = fmt::format("Exploding gradients: non-finite {} at step {}{}", first->what,
                            first->step, first->layer.empty() ? "" : ", first in " + first->layer);
    f.evidence.push_back(fmt::format(
        "first non-finite {} at step {}{}{}", first->what, first->step,
        first->parameter.empty() ? "" : fmt::format(", first parameter {}", first->parameter),
        first->layer.empty() ? "" : fmt::format(" ({})", first->layer)));
    data["first_nonfinite_step"] = first->step;
    data["first_nonfinite"] = first->what;
    if (!first->parameter.empty()) data["first_nonfinite_parameter"] = first->parameter;
    if (first->layer_index > 0) data["first_nonfinite_layer"] = first->layer_index;
  }
  if (run.end && run.end->status == "stopped") {
    critical = true;
    f.evidence.push_back(fmt::format("the run stopped: {}", run.end->reason));
    data["stopped"] = run.end->reason;
  }

  if (const std::optional<LossTrend> loss = loss_trend(run)) {
    if (loss->last >= kDivergence * loss->first) {
      critical = true;
      if (f.summary.empty()) {
        f.summary = fmt::format("Exploding gradients: the loss diverges from {} to {}",
                                num(loss->first), num(loss->last));
      }
      f.evidence.push_back(fmt::format("loss diverges: {} -> {} ({}x, {})", num(loss->first),
                                       num(loss->last), num(loss->last / loss->first),
                                       step_range(loss->first_step, loss->last_step)));
      data["loss_first"] = loss->first;
      data["loss_last"] = loss->last;
    }
  }

  // Growth toward the input (depth) and back through time.
  const std::vector<const LoggedStep*> probed = probed_steps(run);
  long depth_growing = 0;
  long depth_probed = 0;
  std::optional<DepthProfile> worst_depth;
  std::vector<double> depth_rises;
  long time_growing = 0;
  long time_probed = 0;
  std::optional<TimeProfile> worst_time;
  const bool truncated = run.settings.tbptt.value_or(0) > 0;
  for (const LoggedStep* step : probed) {
    if (std::optional<DepthProfile> p = depth_profile(*step)) {
      ++depth_probed;
      const double rise = std::min(-p->decades, -p->decades_fit);
      depth_rises.push_back(rise);
      if (rise >= kGrowthDecades) ++depth_growing;
      if (!worst_depth || rise > std::min(-worst_depth->decades, -worst_depth->decades_fit)) {
        worst_depth = p;
      }
    }
    bool step_counted = false;
    for (const LoggedTimeSteps& curve : step->time_steps) {
      std::optional<TimeProfile> p = time_profile(curve, step->step, 1e-6, truncated);
      if (!p) continue;
      if (!step_counted) ++time_probed;
      step_counted = true;
      if (p->decades >= kGrowthDecades) ++time_growing;
      if (!worst_time || p->decades > worst_time->decades) worst_time = p;
    }
  }
  const double depth_median_rise = depth_rises.empty() ? 0.0 : median(depth_rises);
  if ((depth_growing > 0 &&
       static_cast<double>(depth_growing) >= kGrowthFraction * static_cast<double>(depth_probed)) ||
      depth_median_rise >= kPersistentDecades) {
    growth = true;
    const DepthProfile& p = *worst_depth;
    const double rise = std::min(-p.decades, -p.decades_fit);
    if (f.summary.empty()) {
      f.summary = fmt::format(
          "Exploding gradients through depth: the gradient grows {} decades from layer {} back to "
          "layer {}",
          num(rise), p.index.back(), p.index.front());
    }
    f.evidence.push_back(fmt::format(
        "gradient norm grows toward the input at step {}: layer {} {}, layer {} {} ({} decades "
        "per layer); >= {} decades on {} of {} probed steps, median {} decades",
        p.step, p.index.front(), num(std::pow(10.0, p.log10_grad.front())), p.index.back(),
        num(std::pow(10.0, p.log10_grad.back())), num(-p.slope), num(kGrowthDecades), depth_growing,
        depth_probed, num(depth_median_rise)));
    data["depth_growth_median_decades"] = depth_median_rise;
    data["depth_growth_decades"] = rise;
    data["depth_growth_step"] = p.step;
    data["depth_growth_steps"] = depth_growing;
  }
  if (time_growing > 0 &&
      static_cast<double>(time_growing) >= kGrowthFraction * static_cast<double>(time_probed)) {
    growth = true;
    const TimeProfile& p = *worst_time;
    if (f.summary.empty()) {
      f.summary = fmt::format(
          "Exploding gradients through time: the gradient grows {} decades from step T={} back "
          "to t=1",
          num(p.decades), p.length);
    }
    f.evidence.push_back(fmt::format(
        "per-step gradient of recurrent layer {} grows {} decades from t={} back to t=1 at "
        "training step {}; on {} of {} probed steps",
        p.layer, num(p.decades), p.length, p.step, time_growing, time_probed));
    data["time_growth_decades"] = p.decades;
    data["time_growth_step"] = p.step;
    data["time_growth_steps"] = time_growing;
  }

  // Spikes of the global gradient norm against the running median.
  std::vector<double> norms;
  std::vector<long> norm_steps;
  for (const LoggedStep& step : run.steps) {
    if (!positive(step.grad_norm)) continue;
    norms.push_back(*step.grad_norm);
    norm_steps.push_back(step.step);
  }
  long spikes = 0;
  long first_spike = 0;
  double worst_spike = 0.0;
  for (std::size_t i = kSpikeWindow / 2; i < norms.size(); ++i) {
    const std::size_t from = i > kSpikeWindow ? i - kSpikeWindow : 0;
    const double med = median({norms.begin() + static_cast<std::ptrdiff_t>(from),
                               norms.begin() + static_cast<std::ptrdiff_t>(i)});
    if (norms[i] >= kSpikeFactor * med) {
      ++spikes;
      if (first_spike == 0) first_spike = norm_steps[i];
      worst_spike = std::max(worst_spike, norms[i] / med);
    }
  }
  if (spikes >= kMinSpikes) {
    if (f.summary.empty()) {
      f.summary = fmt::format(
          "Exploding gradients: {} spikes of the gradient norm >= {}x its running median", spikes,
          num(kSpikeFactor));
    }
    f.evidence.push_back(fmt::format(
        "{} gradient-norm spikes >= {}x the median of the previous {} steps, the first at step "
        "{}, the largest {}x",
        spikes, num(kSpikeFactor), kSpikeWindow, first_spike, num(worst_spike)));
    data["spikes"] = spikes;
    data["first_spike_step"] = first_spike;
    data["largest_spike_ratio"] = worst_spike;
  }

  if (f.summary.empty()) return std::nullopt;
  f.severity = critical ? Severity::kCritical : Severity::kWarning;
  f.evidence_data = std::move(data);
  f.prescriptions = prescriptions(run, growth && !critical);
  return f;
}

}  // namespace gradscope::doctor
