#include "gradscope/train/train_config.hpp"

#include <cmath>

#include "gradscope/core/error.hpp"

namespace gradscope {

NonFinitePolicy parse_nonfinite_policy(const std::string& name) {
  if (name == "stop") return NonFinitePolicy::kStop;
  if (name == "skip") return NonFinitePolicy::kSkip;
  throw_bad_input("unknown non-finite policy '{}' (expected stop, skip)", name);
}

std::string_view nonfinite_policy_name(NonFinitePolicy policy) {
  return policy == NonFinitePolicy::kStop ? "stop" : "skip";
}

nlohmann::json to_json(const TrainConfig& config) {
  const auto optional = [](const std::optional<double>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json();
  };
  return {{"steps", config.steps},
          {"batch", config.batch},
          {"optimizer", optimizer_name(config.optimizer.kind)},
          {"lr", config.optimizer.lr},
          {"momentum", config.optimizer.momentum},
          {"weight_decay", config.optimizer.weight_decay},
          {"clip", optional(config.clip_norm)},
          {"clip_value", optional(config.clip_value)},
          {"on_nonfinite", nonfinite_policy_name(config.on_nonfinite)},
          {"probe_every", config.probe_every},
          {"spectrum_every", config.spectrum_every},
          {"eval_every", config.eval_every}};
}

void validate(const TrainConfig& config) {
  const OptimizerSpec& o = config.optimizer;
  if (config.steps < 1) throw_bad_input("steps must be at least 1, got {}", config.steps);
  if (config.batch < 1) throw_bad_input("batch must be at least 1, got {}", config.batch);
  if (!(o.lr > 0) || !std::isfinite(o.lr)) throw_bad_input("lr must be > 0, got {}", o.lr);
  if (!(o.momentum >= 0 && o.momentum < 1)) {
    throw_bad_input("momentum must be in [0, 1), got {}", o.momentum);
  }
  if (!(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1)) {
    throw_bad_input("Adam betas must be in [0, 1), got {} and {}", o.beta1, o.beta2);
  }
  if (!(o.eps > 0)) throw_bad_input("eps must be > 0, got {}", o.eps);
  if (!(o.weight_decay >= 0)) throw_bad_input("weight decay must be >= 0, got {}", o.weight_decay);
  if (config.clip_norm && !(*config.clip_norm > 0)) {
    throw_bad_input("clip must be > 0, got {}", *config.clip_norm);
  }
  if (config.clip_value && !(*config.clip_value > 0)) {
    throw_bad_input("clip-value must be > 0, got {}", *config.clip_value);
  }
  if (config.probe_every < 0)
    throw_bad_input("probe-every must be >= 0, got {}", config.probe_every);
  if (config.eval_every < 0) throw_bad_input("eval-every must be >= 0, got {}", config.eval_every);
  if (config.spectrum_every < 0) {
    throw_bad_input("spectrum-every must be >= 0, got {}", config.spectrum_every);
  }
}

}  // namespace gradscope
