#include "gradscope/probe/weight_stats.hpp"

#include <cmath>

#include "gradscope/core/norms.hpp"

namespace gradscope {

template <typename Scalar>
WeightStats weight_stats(const Matrix<Scalar>& w, const Matrix<Scalar>& dw,
                         const Matrix<Scalar>& w0) {
  double norm = 0.0, grad = 0.0, distance = 0.0;
  for (Index j = 0; j < w.cols(); ++j) {
    norm += static_cast<double>(w.col(j).squaredNorm());
    grad += static_cast<double>(dw.col(j).squaredNorm());
    distance += static_cast<double>((w.col(j) - w0.col(j)).squaredNorm());
  }
  constexpr double kLow = 1e-30, kHigh = 1e30;
  const auto safe = [](double sum) { return sum == 0.0 || (sum > kLow && sum < kHigh); };
  WeightStats stats;
  stats.norm = safe(norm) ? std::sqrt(norm) : stable_norm<Scalar>(w);
  stats.grad_norm = safe(grad) ? std::sqrt(grad) : stable_norm<Scalar>(dw);
  stats.distance = safe(distance) ? std::sqrt(distance) : stable_distance<Scalar>(w, w0);
  return stats;
}

template WeightStats weight_stats<float>(const Matrix<float>&, const Matrix<float>&,
                                         const Matrix<float>&);
template WeightStats weight_stats<double>(const Matrix<double>&, const Matrix<double>&,
                                          const Matrix<double>&);

}  // namespace gradscope
