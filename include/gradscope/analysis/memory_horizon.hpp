// How far back in time a gradient survives: the article's "a gradient propagated more than a few
// dozen steps back is essentially zero", as a number of steps.
//
// A gradient carried back s steps shrinks like exp(lambda_1 s), lambda_1 the top Lyapunov
// exponent of the step Jacobians (natural log per step). It falls to `fraction` of its size after
// s* = log(fraction) / lambda_1 steps: beyond that, truncated BPTT loses nothing the full
// gradient would have carried, so s* is the window K to recommend.
#pragma once

#include <optional>
#include <vector>

#include "gradscope/core/types.hpp"

namespace gradscope {

inline constexpr double kHorizonFraction = 1e-6;

// log(fraction) / lambda_1; none when lambda_1 >= 0 (the gradient does not decay).
std::optional<double> predicted_horizon(double top_exponent, double fraction = kHorizonFraction);

// From measured norms ||dL/dh_t||, t = 0 .. T-1, with the loss at the last step: the smallest s
// with norm[T-1-s] < fraction * norm[T-1]; none when no step falls that low.
std::optional<Index> measured_horizon(const std::vector<double>& grad_norm_per_step,
                                      double fraction = kHorizonFraction);

// The truncation window to recommend for sequences of `steps` steps: the predicted horizon
// rounded up, capped at `steps` (full BPTT) when the gradient does not decay within them.
Index recommended_window(std::optional<double> horizon, Index steps);

}  // namespace gradscope
