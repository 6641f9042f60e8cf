// Vanishing gradients through depth (the article's "Diagnosing in Practice", first bullet): the
// gradient norm shrinks geometrically from the output layer back to the input, so the fit of
// log10 ||dL/dh_l|| against l has a positive slope and early layers get orders of magnitude less
// signal. Corroborated (evidence, severity) by parameters near initialisation and a flat loss.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "gradscope/doctor/rules.hpp"
#include "gradscope/doctor/run_profile.hpp"

namespace gradscope::doctor {

namespace {

// 3 decades = the 1e-3 first/last ratio of AUTOTRAINER; 6 decades = the article's 1e-6.
constexpr double kMinDecades = 3.0;
constexpr double kCriticalDecades = 6.0;
// The profile must hold on at least half of the probed steps: a transient is not a diagnosis.
constexpr double kMinFraction = 0.5;
// Early layers "near initialisation" when they moved < 1/10 as far as the late layers.
constexpr double kNearInitRatio = 0.1;
// The loss is "flat" when the end of training is within 10% of its start.
constexpr double kFlatLoss = 0.9;

std::string hidden_activation(const LoggedRun& run) {
  if (!run.settings.act.empty()) return run.settings.act;
  for (const LoggedStep* step : probed_steps(run)) {
    for (const LoggedLayer& layer : step->layers) {
      if (!layer.activation.empty() && layer.activation != "identity") return layer.activation;
    }
  }
  return "";
}

std::vector<Prescription> prescriptions(const LoggedRun& run) {
  const std::string act = hidden_activation(run);
  std::vector<Prescription> out;
  if (act == "relu" || act == "leaky_relu" || act == "gelu") {
    if (run.settings.init.rfind("he", 0) != 0) {
      out.push_back(
          {"Initialise for ReLU (He: Var(W) = 2/fan_in) so each layer preserves the "
           "gradient's scale",
           {"--init", "he"}});
    }
  } else {
    out.push_back(
        {"Switch to ReLU with He initialisation: derivative 1 in the active region, so "
         "the product of Jacobians stops shrinking (sigmoid' <= 1/4 per layer)",
         {"--act", "relu", "--init", "he"}});
  }
  if (!run.settings.residual) {
    out.push_back(
        {"Add residual connections: J = I + dF/dh gives the gradient a direct path "
         "that picks up no factor per layer",
         {"--residual"}});
  }
  if (run.settings.norm.empty() || run.settings.norm == "none") {
    out.push_back(
        {"Use a normalised architecture (layer norm) to keep activation and Jacobian "
         "scales stable",
         {"--norm", "layer"}});
  }
  return out;
}

// Mean relative distance from init of the first and last quarter of the layers on one step.
std::optional<std::pair<double, double>> early_late_movement(const LoggedStep& step) {
  std::vector<double> moved;
  for (const LoggedLayer& layer : step.layers) {
    if (is_recurrent_layer(layer) || !finite(layer.rel_dist_init)) continue;
    moved.push_back(*layer.rel_dist_init);
  }
  if (moved.size() < 3) return std::nullopt;
  const std::size_t quarter = std::max<std::size_t>(1, moved.size() / 4);
  double early = 0.0;
  double late = 0.0;
  for (std::size_t i = 0; i < quarter; ++i) {
    early += moved[i];
    late += moved[moved.size() - 1 - i];
  }
  return std::make_pair(early / static_cast<double>(quarter), late / static_cast<double>(quarter));
}

}  // namespace

std::optional<Finding> vanishing_gradient_rule(const LoggedRun& run) {
  std::vector<DepthProfile> profiles;
  for (const LoggedStep* step : probed_steps(run)) {
    if (std::optional<DepthProfile> p = depth_profile(*step)) profiles.push_back(*p);
  }
  if (profiles.empty()) return std::nullopt;
  std::vector<const DepthProfile*> vanishing;
  std::vector<double> drops;
  for (const DepthProfile& p : profiles) {
    const double drop = std::min(p.decades_fit, p.decades);  // both must show it
    drops.push_back(drop);
    if (drop >= kMinDecades) vanishing.push_back(&p);
  }
  const double fraction =
      static_cast<double>(vanishing.size()) / static_cast<double>(profiles.size());
  if (vanishing.empty() || fraction < kMinFraction) return std::nullopt;

  const double typical = median(drops);
  // The representative profile: the vanishing one whose drop is nearest the median.
  const DepthProfile* shown = vanishing.front();
  for (const DepthProfile* p : vanishing) {
    if (std::abs(std::min(p->decades_fit, p->decades) - typical) <
        std::abs(std::min(shown->decades_fit, shown->decades) - typical)) {
      shown = p;
    }
  }
  const long first_layer = shown->index.front();
  const long last_layer = shown->index.back();
  const double g_first = std::pow(10.0, shown->log10_grad.front());
  const double g_last = std::pow(10.0, shown->log10_grad.back());

  Finding f;
  f.code = std::string(kVanishingGradient);
  f.severity = typical >= kCriticalDecades ? Severity::kCritical : Severity::kWarning;
  f.summary = fmt::format(
      "Vanishing gradients through depth: layer {} receives {} decades less gradient than layer "
      "{} ({} decades per layer)",
      first_layer, num(std::min(shown->decades_fit, shown->decades)), last_layer,
      num(shown->slope));
  f.evidence.push_back(fmt::format(
      "gradient norm ||dL/dh_l|| at step {}: layer {} {}, layer {} {} (ratio first/last {})",
      shown->step, first_layer, num(g_first), last_layer, num(g_last), num(g_first / g_last)));
  f.evidence.push_back(fmt::format(
      "log10 gradient norm against depth: fitted slope {} decades per layer, {} decades from "
      "layer {} to layer {}; median drop {} decades",
      num(shown->slope), num(shown->decades_fit), last_layer, first_layer, num(typical)));
  f.evidence.push_back(fmt::format("holds on {} of {} probed steps ({})", vanishing.size(),
                                   profiles.size(),
                                   step_range(vanishing.front()->step, vanishing.back()->step)));
  nlohmann::json data = {{"step", shown->step},
                         {"first_layer", first_layer},
                         {"last_layer", last_layer},
                         {"first_grad_norm", g_first},
                         {"last_grad_norm", g_last},
                         {"slope_decades_per_layer", shown->slope},
                         {"decades", std::min(shown->decades_fit, shown->decades)},
                         {"median_decades", typical},
                         {"steps_vanishing", vanishing.size()},
                         {"steps_probed", profiles.size()},
                         {"first_step", vanishing.front()->step},
                         {"last_step", vanishing.back()->step}};

  bool near_init = false;
  const std::vector<const LoggedStep*> probed = probed_steps(run);
  if (!probed.empty()) {
    if (auto moved = early_late_movement(*probed.back())) {
      const auto [early, late] = *moved;
      near_init = late > 0.0 && early < kNearInitRatio * late;
      f.evidence.push_back(fmt::format(
          "parameters {}: relative distance from init at step {}: early layers {}, late layers {}",
          near_init ? "near initialisation" : "moving", probed.back()->step, num(early),
          num(late)));
      data["rel_dist_init_early"] = early;
      data["rel_dist_init_late"] = late;
    }
  }
  bool flat = false;
  if (const std::optional<LossTrend> loss = loss_trend(run)) {
    flat = loss->last >= kFlatLoss * loss->first;
    f.evidence.push_back(fmt::format("loss {} {} -> {} ({}){}",
                                     flat ? "flat:" : "still improves:", num(loss->first),
                                     num(loss->last), step_range(loss->first_step, loss->last_step),
                                     flat ? "" : "; the early layers take little part in it"));
    data["loss_first"] = loss->first;
    data["loss_last"] = loss->last;
  }
  data["near_init"] = near_init;
  data["loss_flat"] = flat;
  if (near_init && flat) f.severity = Severity::kCritical;
  f.evidence_data = std::move(data);
  f.prescriptions = prescriptions(run);
  return f;
}

}  // namespace gradscope::doctor
