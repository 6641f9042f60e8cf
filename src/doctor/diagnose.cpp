// diagnose(): every rule on every run, the cross-run rule, and the ranking that picks the primary
// finding: the most severe first, and among equally severe findings a cause before the symptoms
// it produces (exploding first; dead or saturated units before the vanishing they cause; misused
// clipping last, since it hides rather than causes a gradient problem).
#include <algorithm>
#include <iterator>

#include "gradscope/doctor/finding.hpp"
#include "gradscope/doctor/rules.hpp"

namespace gradscope {

namespace {

// The rules in the order of the ranking: a finding's priority is its rule's place here.
struct RankedRule {
  std::string_view code;
  std::optional<Finding> (*rule)(const LoggedRun&);
};
constexpr RankedRule kRankedRules[] = {
    {kExplodingGradient, doctor::exploding_gradient_rule},
    {kDyingRelu, doctor::dying_relu_rule},
    {kSaturation, doctor::saturation_rule},
    {kVanishingThroughTime, doctor::vanishing_through_time_rule},
    {kVanishingGradient, doctor::vanishing_gradient_rule},
    {kClippingAlwaysActive, doctor::clipping_always_active_rule},
};

std::size_t priority(const std::string& code) {
  const auto* found = std::find_if(std::begin(kRankedRules), std::end(kRankedRules),
                                   [&](const RankedRule& r) { return r.code == code; });
  return static_cast<std::size_t>(found - std::begin(kRankedRules));
}

}  // namespace

Diagnosis diagnose(const std::vector<LoggedRun>& runs) {
  Diagnosis diagnosis;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    for (const RankedRule& ranked : kRankedRules) {
      if (std::optional<Finding> finding = ranked.rule(runs[i])) {
        finding->run = static_cast<long>(i);
        diagnosis.findings.push_back(std::move(*finding));
      }
    }
  }
  // The cross-run evidence joins the run's own through-time finding, or stands on its own.
  for (Finding& cross : doctor::sequence_length_rule(runs)) {
    auto same =
        std::find_if(diagnosis.findings.begin(), diagnosis.findings.end(),
                     [&](const Finding& f) { return f.run == cross.run && f.code == cross.code; });
    if (same == diagnosis.findings.end()) {
      diagnosis.findings.push_back(std::move(cross));
      continue;
    }
    same->severity = Severity::kCritical;
    same->evidence.insert(same->evidence.end(), cross.evidence.begin(), cross.evidence.end());
    same->evidence_data["across_runs"] = cross.evidence_data;
  }
  std::stable_sort(diagnosis.findings.begin(), diagnosis.findings.end(),
                   [](const Finding& a, const Finding& b) {
                     if (a.severity != b.severity) return a.severity > b.severity;
                     return priority(a.code) < priority(b.code);
                   });
  return diagnosis;
}

}  // namespace gradscope
