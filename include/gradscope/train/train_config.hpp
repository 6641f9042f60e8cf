// How a training run is driven: budget, batch, optimiser, clipping, probing and evaluation.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "gradscope/optim/optimizer.hpp"

namespace gradscope {

// What to do when the loss or the global gradient norm is NaN or Inf.
enum class NonFinitePolicy {
  kStop,  // record the step, then stop with an error naming the step and the layer (default)
  kSkip,  // record the step, skip its update, go on
};
// "stop" | "skip"; bad-input Error otherwise.
NonFinitePolicy parse_nonfinite_policy(const std::string& name);
std::string_view nonfinite_policy_name(NonFinitePolicy policy);

struct TrainConfig {
  long steps = 1000;
  long batch = 128;
  OptimizerSpec optimizer;
  std::optional<double> clip_norm;   // rescale when the global norm exceeds it
  std::optional<double> clip_value;  // clamp every gradient entry
  NonFinitePolicy on_nonfinite = NonFinitePolicy::kStop;
  long probe_every = 10;  // observe the backward pass every N steps (and the first and last)
  long eval_every = 0;    // evaluate on the test set every N steps; 0: only at the end
  // Every N steps (which are then probed too) each layer's Jacobian spectral radius and norm go
  // into the layer records; 0: never. Costs an eigen- and a singular value decomposition per
  // layer (per sampled time step for recurrent models).
  long spectrum_every = 0;
};

// Bad-input Error naming the field when a value is out of range.
void validate(const TrainConfig& config);

// The run log header's "train" object (docs/run-log.md); experiments record it as their settings.
nlohmann::json to_json(const TrainConfig& config);

}  // namespace gradscope
