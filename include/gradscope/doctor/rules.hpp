// The doctor's rules, one per file in src/doctor/. Each looks at one logged run and returns a
// finding (with evidence and ranked prescriptions) or nothing; diagnose() (finding.hpp) runs them
// all and ranks what they find. Thresholds and their reasons: docs/doctor.md.
#pragma once

#include <optional>
#include <vector>

#include "gradscope/doctor/finding.hpp"

namespace gradscope::doctor {

// Early layers' gradients orders of magnitude below late ones: the fitted log10 gradient norm
// against depth drops >= 3 decades from the output layer to the input layer on at least half of
// the probed steps (critical at the article's 6 decades); corroborated by early layers staying
// near their initialisation and by a flat loss.
std::optional<Finding> vanishing_gradient_rule(const LoggedRun& run);

// Non-finite loss, gradient or weight (localised to the step and layer), loss divergence,
// gradients growing >= 2 decades toward the input (depth) or back through time, or gradient-norm
// spikes against the running median.
std::optional<Finding> exploding_gradient_rule(const LoggedRun& run);

// A recurrent layer's per-step gradient falling below 1e-6 of the last step's within fewer steps
// than the sequence holds (the effective horizon), on at least half of the probed steps.
std::optional<Finding> vanishing_through_time_rule(const LoggedRun& run);

// Across runs of the same recurrent model and task at several sequence lengths: the loss drops
// well below the task's baseline for short sequences and plateaus near it for long ones. One
// finding per long run that plateaued; `Finding::run` is the run's index in `runs`.
std::vector<Finding> sequence_length_rule(const std::vector<LoggedRun>& runs);

// Sigmoid/tanh units pinned: the mean `saturated` fraction of the saturating layers is >= 0.3
// on at least half of the probed steps.
std::optional<Finding> saturation_rule(const LoggedRun& run);

// ReLU units dead for the whole batch: on most of the later probed steps at least half of the
// ReLU layers have >= 70% dead units, or a layer is entirely dead (no gradient passes it).
std::optional<Finding> dying_relu_rule(const LoggedRun& run);

// Clipping on >= 90% of the steps with a threshold >= 10x below the median gradient norm: every
// update is shrunk and the clip acts as a hidden learning-rate cut.
std::optional<Finding> clipping_always_active_rule(const LoggedRun& run);

}  // namespace gradscope::doctor
