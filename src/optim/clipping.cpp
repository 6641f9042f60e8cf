#include "gradscope/optim/clipping.hpp"

#include <cmath>
#include <limits>

#include "gradscope/core/error.hpp"
#include "gradscope/core/norms.hpp"

namespace gradscope {

namespace {

// A norm held as scale * sqrt(sum_of_squares) with scale = the largest part so far (the
// LAPACK dnrm2 way): the sum stays in [1, number of parts], so nothing under- or overflows.
struct ScaledNorm {
  double scale = 0.0;
  double sum_of_squares = 0.0;

  void add(double part) {
    if (part == 0.0) return;
    if (scale < part) {
      const double ratio = scale / part;
      sum_of_squares = 1.0 + sum_of_squares * ratio * ratio;
      scale = part;
    } else {
      const double ratio = part / scale;
      sum_of_squares += ratio * ratio;
    }
  }
  double value() const { return scale * std::sqrt(sum_of_squares); }
};

template <typename Scalar>
ClipReport measure(const std::vector<Param<Scalar>>& params, ScaledNorm& parts) {
  ClipReport report;
  bool saw_nan = false;
  for (const Param<Scalar>& param : params) {
    GRADSCOPE_CHECK(param.grad != nullptr, "gradient norm: parameter '{}' has no gradient",
                    param.name);
    // One pass in the common case: a finite norm means every entry is finite.
    const double norm = stable_norm<Scalar>(*param.grad);
    if (std::isfinite(norm) || all_finite<Scalar>(*param.grad)) {
      parts.add(norm);
      continue;
    }
    if (report.finite) {
      report.finite = false;
      report.first_nonfinite = param.name;
    }
    saw_nan = saw_nan || param.grad->hasNaN();
  }
  if (report.finite) {
    report.norm = parts.value();
  } else {
    report.norm = saw_nan ? std::numeric_limits<double>::quiet_NaN()
                          : std::numeric_limits<double>::infinity();
  }
  return report;
}

}  // namespace

template <typename Scalar>
ClipReport gradient_norm(const std::vector<Param<Scalar>>& params) {
  ScaledNorm parts;
  return measure(params, parts);
}

template <typename Scalar>
ClipReport clip_by_global_norm(const std::vector<Param<Scalar>>& params, double max_norm) {
  GRADSCOPE_CHECK(max_norm > 0.0, "clip_by_global_norm: max_norm must be > 0, got {}", max_norm);
  ScaledNorm parts;
  ClipReport report = measure(params, parts);
  if (!report.finite || !(report.norm > max_norm)) return report;
  // Finite entries whose global norm overflowed double: the scaled form still gives the factor.
  const double factor = std::isfinite(report.norm)
                            ? max_norm / report.norm
                            : (max_norm / parts.scale) / std::sqrt(parts.sum_of_squares);
  const Scalar scale = static_cast<Scalar>(factor);
  for (const Param<Scalar>& param : params) *param.grad *= scale;
  report.clipped = true;
  return report;
}

template <typename Scalar>
void clip_by_value(const std::vector<Param<Scalar>>& params, double clip_value) {
  GRADSCOPE_CHECK(clip_value > 0.0, "clip_by_value: clip_value must be > 0, got {}", clip_value);
  const Scalar high = static_cast<Scalar>(clip_value);
  for (const Param<Scalar>& param : params) {
    GRADSCOPE_CHECK(param.grad != nullptr, "clip_by_value: parameter '{}' has no gradient",
                    param.name);
    // Written with comparisons so that NaN stays NaN, as torch.clamp does.
    param.grad->array() = param.grad->array().unaryExpr(
        [high](Scalar x) { return x > high ? high : (x < -high ? -high : x); });
  }
}

template ClipReport gradient_norm<float>(const std::vector<Param<float>>&);
template ClipReport gradient_norm<double>(const std::vector<Param<double>>&);
template ClipReport clip_by_global_norm<float>(const std::vector<Param<float>>&, double);
template ClipReport clip_by_global_norm<double>(const std::vector<Param<double>>&, double);
template void clip_by_value<float>(const std::vector<Param<float>>&, double);
template void clip_by_value<double>(const std::vector<Param<double>>&, double);

}  // namespace gradscope
