// Clipping that is always active (the article's mitigation 5 used wrongly): clipping is meant to
// catch occasional spikes; when the threshold sits far below the typical gradient norm, every
// update is rescaled to length C and the clip becomes a hidden cut of the learning rate.
#include <fmt/format.h>

#include <cmath>

#include "gradscope/doctor/rules.hpp"
#include "gradscope/doctor/run_profile.hpp"

namespace gradscope::doctor {

namespace {

// Clipped on >= 90% of the steps, and the threshold >= 10x below the median gradient norm.
constexpr double kClippedFraction = 0.9;
constexpr double kFarBelow = 10.0;
constexpr long kMinSteps = 10;

// One significant digit, rounded up: 0.37 -> "0.4", 23 -> "30".
std::string round_up(double value) {
  const double scale = std::pow(10.0, std::floor(std::log10(value)));
  return fmt::format("{:g}", std::ceil(value / scale) * scale);
}

}  // namespace

std::optional<Finding> clipping_always_active_rule(const LoggedRun& run) {
  long steps = 0;
  long clipped = 0;
  std::vector<double> norms;
  for (const LoggedStep& step : run.steps) {
    if (step.skipped) continue;
    ++steps;
    if (step.clipped) ++clipped;
    if (positive(step.grad_norm)) norms.push_back(*step.grad_norm);
  }
  if (steps < kMinSteps || static_cast<double>(clipped) < kClippedFraction * steps) {
    return std::nullopt;
  }
  const double typical = median(norms);
  const std::optional<double> clip = run.settings.clip;
  if (clip && !norms.empty() && *clip * kFarBelow > typical) return std::nullopt;
  Finding f;
  f.code = std::string(kClippingAlwaysActive);
  f.severity = Severity::kWarning;
  f.summary = fmt::format(
      "Clipping always active: {}% of steps clipped{}",
      num(100.0 * static_cast<double>(clipped) / static_cast<double>(steps)),
      clip ? fmt::format(", threshold {} vs median gradient norm {}", num(*clip), num(typical))
           : std::string());
  f.evidence.push_back(fmt::format("{} of {} updates clipped", clipped, steps));
  nlohmann::json data = {{"clipped_steps", clipped}, {"steps", steps}};
  if (!norms.empty()) {
    f.evidence.push_back(fmt::format("median gradient norm before clipping {}", num(typical)));
    data["median_grad_norm"] = typical;
  }
  if (clip) {
    f.evidence.push_back(fmt::format(
        "threshold {} is {}x below it: every update is shrunk, a hidden {}x cut of the learning "
        "rate",
        num(*clip), num(typical / *clip), num(typical / *clip)));
    data["clip"] = *clip;
    data["shrink"] = typical / *clip;
  }
  f.evidence_data = std::move(data);
  if (!norms.empty()) {
    f.prescriptions.push_back(
        {"Raise the threshold above the typical norm, so that only spikes "
         "are clipped",
         {"--clip", round_up(2.0 * typical)}});
  }
  if (!clip || *clip < 1.0) {
    f.prescriptions.push_back({"Use the article's usual threshold", {"--clip", "1"}});
  }
  return f;
}

}  // namespace gradscope::doctor
