// What the doctor says about a run log: findings with stable codes, numeric evidence and ranked
// prescriptions mapped to `gradscope train` flags (docs/doctor.md).
//
// The doctor is a pure function from logged runs (probe/run_log_reader.hpp) to a Diagnosis; it
// never trains, prints or throws on a pathological log. The --fix loop applies a Prescription's
// `flags` to a train command line and checks the result with the same diagnose().
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "gradscope/probe/run_log_reader.hpp"

namespace gradscope {

enum class Severity { kInfo, kWarning, kCritical };

// "info", "warning", "critical".
std::string_view severity_name(Severity severity);

// One remedy in the article's terms, and the `gradscope train` flags that apply it, e.g.
// {"--act", "relu", "--init", "he"}, {"--residual"}, {"--norm", "layer"}, {"--clip", "1"},
// {"--lr", "1e-4"}, {"--model", "lstm"}, {"--tbptt", "20"}. Flags are option/value tokens in
// command-line order; applying one replaces an earlier value of the same option.
struct Prescription {
  std::string advice;
  std::vector<std::string> flags;
};

// Stable finding codes (the --json `code` field).
inline constexpr std::string_view kVanishingGradient = "vanishing_gradient";
inline constexpr std::string_view kExplodingGradient = "exploding_gradient";
inline constexpr std::string_view kVanishingThroughTime = "vanishing_through_time";
inline constexpr std::string_view kSaturation = "saturation";
inline constexpr std::string_view kDyingRelu = "dying_relu";
inline constexpr std::string_view kClippingAlwaysActive = "clipping_always_active";

struct Finding {
  std::string code;  // one of the k... codes above
  Severity severity = Severity::kWarning;
  std::string summary;                      // one line: the problem
  std::vector<std::string> evidence;        // human lines with numbers, layers/time steps, steps
  nlohmann::json evidence_data;             // the same numbers, machine-readable (an object)
  std::vector<Prescription> prescriptions;  // best first
  long run = 0;                             // index of the run (in the input order) it is about
};

// Findings most important first: findings[0] is the primary finding. Empty = healthy.
struct Diagnosis {
  std::vector<Finding> findings;
  bool healthy() const { return findings.empty(); }
};

// Runs every rule on every run, plus the cross-run rule (the same recurrent model at several
// sequence lengths), and ranks the findings: critical before warning, and within a severity a
// cause before the symptoms it produces: exploding, dying ReLU, saturation, vanishing through
// time, vanishing (depth), clipping always active.
Diagnosis diagnose(const std::vector<LoggedRun>& runs);

// The published AUTOTRAINER rules (Zhang et al., ICSE 2021) as a baseline, checked on every
// probed step as that system monitors training, the first detection winning: vanishing when the
// first/last layer gradient ratio < 1e-3 and the first layer's norm < 1e-4; exploding when that
// ratio > 70 or any NaN; dying ReLU when >= 70% of a layer's units are dead. At most one finding
// per run (evidence only, no prescriptions).
Diagnosis diagnose_autotrainer(const std::vector<LoggedRun>& runs);

// {"code", "severity", "summary", "evidence", "data", "prescriptions":[{"advice","flags"}]}.
nlohmann::json to_json(const Finding& finding);

}  // namespace gradscope
