#include "gradscope/analysis/memory_horizon.hpp"

#include <cmath>

#include "gradscope/core/error.hpp"

namespace gradscope {

std::optional<double> predicted_horizon(double top_exponent, double fraction) {
  if (!(fraction > 0.0 && fraction < 1.0)) {
    throw_bad_input("memory horizon: the fraction must lie in (0, 1), got {}", fraction);
  }
  if (!(top_exponent < 0.0)) return std::nullopt;
  return std::log(fraction) / top_exponent;
}

std::optional<Index> measured_horizon(const std::vector<double>& grad_norm_per_step,
                                      double fraction) {
  if (grad_norm_per_step.empty()) return std::nullopt;
  const double last = grad_norm_per_step.back();
  const Index steps = static_cast<Index>(grad_norm_per_step.size());
  for (Index s = 1; s < steps; ++s) {
    if (grad_norm_per_step[static_cast<std::size_t>(steps - 1 - s)] < fraction * last) return s;
  }
  return std::nullopt;
}

Index recommended_window(std::optional<double> horizon, Index steps) {
  if (!horizon || *horizon >= static_cast<double>(steps)) return steps;
  return std::max<Index>(1, static_cast<Index>(std::ceil(*horizon)));
}

}  // namespace gradscope
