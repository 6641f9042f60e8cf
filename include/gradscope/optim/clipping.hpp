// Gradient clipping, as the article states it: if ||g|| > c then g <- c g / ||g||, where ||g|| is
// the Euclidean norm of all parameter gradients taken together (the "global norm").
//
//   ||g|| = sqrt(sum_params ||grad_p||_F^2)
//
// Each ||grad_p|| comes from stable_norm (core/norms.hpp); they are combined as
// s sqrt(sum (||grad_p|| / s)^2) with s = max ||grad_p||, so neither 1e-200 nor 1e200 gradients
// (double) lose the norm to underflow or overflow. A gradient whose entries are all finite but
// whose global norm exceeds the double range (above 1.8e308) reports norm = +inf and is still
// clipped correctly, with the factor taken from the scaled form.
#pragma once

#include <string>
#include <vector>

#include "gradscope/nn/layer.hpp"

namespace gradscope {

struct ClipReport {
  double norm = 0.0;     // ||g|| before clipping (stable: no under/overflow)
  bool clipped = false;  // true when the gradients were rescaled
  bool finite = true;    // false when some gradient entry is NaN or +-Inf
  // When !finite: the first parameter, in parameter order, holding a non-finite entry.
  std::string first_nonfinite;
};

// The global norm and finiteness of the gradients, without changing them. When some entry is
// not finite, norm is NaN if any entry is NaN and +inf otherwise (as torch's total_norm).
template <typename Scalar>
ClipReport gradient_norm(const std::vector<Param<Scalar>>& params);

// Rescales the gradients to norm max_norm when their global norm exceeds it (exactly the
// article's rule, g *= max_norm / ||g||, no epsilon); a non-finite entry leaves them untouched
// and is reported. max_norm > 0.
template <typename Scalar>
ClipReport clip_by_global_norm(const std::vector<Param<Scalar>>& params, double max_norm);

// Clamps every gradient entry to [-clip_value, clip_value] (torch.nn.utils.clip_grad_value_);
// NaN entries stay NaN. clip_value > 0.
template <typename Scalar>
void clip_by_value(const std::vector<Param<Scalar>>& params, double clip_value);

}  // namespace gradscope
