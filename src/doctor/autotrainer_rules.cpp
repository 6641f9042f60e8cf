// The baseline: AUTOTRAINER's published rules (Zhang et al., "AUTOTRAINER: An Automatic DNN
// Training Problem Detection and Repair System", ICSE 2021), applied as that system applies
// them, on every probed step, the first detection winning:
//   vanishing:  |g_1| / |g_L| < 1e-3 and |g_1| < 1e-4 (first and last layer gradient norms)
//   exploding:  |g_1| / |g_L| > 70, or any NaN
//   dying ReLU: >= 70% of a layer's units give zero gradient (the log's `dead`)
#include <fmt/format.h>

#include <cmath>

#include "gradscope/doctor/finding.hpp"
#include "gradscope/doctor/run_profile.hpp"

namespace gradscope {

namespace {

constexpr double kVanishRatio = 1e-3;
constexpr double kVanishFirst = 1e-4;
constexpr double kExplodeRatio = 70.0;
constexpr double kDeadFraction = 0.7;

Finding make(std::string_view code, long run, long step, std::string evidence) {
  Finding f;
  f.code = std::string(code);
  f.severity = code == kExplodingGradient ? Severity::kCritical : Severity::kWarning;
  f.summary = fmt::format("AUTOTRAINER rule {} fired at step {}", code, step);
  f.evidence.push_back(std::move(evidence));
  f.evidence_data = {{"step", step}};
  f.run = run;
  return f;
}

std::optional<Finding> judge(const LoggedRun& run, long index) {
  for (const LoggedStep& step : run.steps) {
    const bool nan = step.nonfinite_loss || step.nonfinite_grad || step.nonfinite_weight ||
                     (step.loss && !std::isfinite(*step.loss));
    if (nan) return make(kExplodingGradient, index, step.step, "non-finite loss or gradient");
    if (step.layers.empty()) continue;
    const LoggedLayer& first = step.layers.front();
    const LoggedLayer& last = step.layers.back();
    bool layer_nan = false;
    for (const LoggedLayer& layer : step.layers) layer_nan = layer_nan || layer.nonfinite;
    if (layer_nan) return make(kExplodingGradient, index, step.step, "non-finite layer");
    if (doctor::finite(first.grad_norm) && doctor::positive(last.grad_norm)) {
      const double ratio = *first.grad_norm / *last.grad_norm;
      if (ratio > kExplodeRatio) {
        return make(kExplodingGradient, index, step.step,
                    fmt::format("first/last gradient ratio {} > 70", doctor::num(ratio)));
      }
      if (ratio < kVanishRatio && *first.grad_norm < kVanishFirst) {
        return make(kVanishingGradient, index, step.step,
                    fmt::format("first/last gradient ratio {} < 1e-3, first-layer norm {} < 1e-4",
                                doctor::num(ratio), doctor::num(*first.grad_norm)));
      }
    }
    for (const LoggedLayer& layer : step.layers) {
      if (doctor::finite(layer.dead) && *layer.dead >= kDeadFraction) {
        return make(
            kDyingRelu, index, step.step,
            fmt::format("layer {}: {} of units dead", layer.index, doctor::num(*layer.dead)));
      }
    }
  }
  return std::nullopt;
}

}  // namespace

Diagnosis diagnose_autotrainer(const std::vector<LoggedRun>& runs) {
  Diagnosis diagnosis;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (std::optional<Finding> f = judge(runs[i], static_cast<long>(i))) {
      diagnosis.findings.push_back(std::move(*f));
    }
  }
  return diagnosis;
}

}  // namespace gradscope
