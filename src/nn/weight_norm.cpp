#include "gradscope/nn/weight_norm.hpp"

#include <cmath>
#include <limits>

#include "gradscope/core/error.hpp"

namespace gradscope {

template <typename Scalar>
WeightNorm<Scalar>::WeightNorm(const Dense<Scalar>& dense)
    : v_(dense.weight()),
      bias_(dense.bias()),
      dg_(Mat::Zero(dense.out_features(), 1)),
      dv_(Mat::Zero(dense.out_features(), dense.in_features())),
      dbias_(Mat::Zero(dense.has_bias() ? dense.out_features() : 0, 1)),
      has_bias_(dense.has_bias()) {
  g_ = row_norms();
}

template <typename Scalar>
Index WeightNorm<Scalar>::output_size(Index input_size) const {
  GRADSCOPE_CHECK(input_size == in_features(), "weight_norm: expects {} input features, got {}",
                  in_features(), input_size);
  return out_features();
}

template <typename Scalar>
typename WeightNorm<Scalar>::Mat WeightNorm<Scalar>::row_norms() const {
  // The fast sum of squares, redone with Eigen's stableNorm where it under- or overflowed.
  constexpr Scalar kLow =
      std::numeric_limits<Scalar>::min() / std::numeric_limits<Scalar>::epsilon();
  constexpr Scalar kHigh = std::numeric_limits<Scalar>::max() / Scalar(1024);
  Mat norms = v_.rowwise().squaredNorm();
  for (Index i = 0; i < norms.rows(); ++i) {
    const Scalar sum = norms(i, 0);
    norms(i, 0) = sum > kLow && sum < kHigh ? std::sqrt(sum) : v_.row(i).stableNorm();
  }
  return norms;
}

template <typename Scalar>
typename WeightNorm<Scalar>::Mat WeightNorm<Scalar>::weight() const {
  const Mat norms = row_norms();
  return (g_.array() / norms.array()).matrix().asDiagonal() * v_;
}

template <typename Scalar>
Dense<Scalar> WeightNorm<Scalar>::to_dense() const {
  Dense<Scalar> dense(in_features(), out_features(), has_bias_);
  dense.weight() = weight();
  if (has_bias_) dense.bias() = bias_;
  return dense;
}

template <typename Scalar>
void WeightNorm<Scalar>::forward(ConstRef x, Ref y, Saved<Scalar>& saved) const {
  output_size(x.rows());
  saved.tensors.resize(2);
  Mat& w = saved.tensors[0];
  Mat& norms = saved.tensors[1];
  norms = row_norms();
  w.noalias() = (g_.array() / norms.array()).matrix().asDiagonal() * v_;
  y.noalias() = w * x;
  if (has_bias_) y.colwise() += bias_.col(0);
}

template <typename Scalar>
void WeightNorm<Scalar>::backward(ConstRef x, ConstRef /*y*/, const Saved<Scalar>& saved,
                                  ConstRef dy, Ref dx) {
  const Mat& w = saved.tensors.at(0);
  const Mat& norms = saved.tensors.at(1);
  dx.noalias() = w.transpose() * dy;
  if (has_bias_) dbias_.col(0).noalias() += dy.rowwise().sum();
  dw_.noalias() = dy * x.transpose();
  // With vhat_i = v_i / ||v_i||: dg_i = <dw_i, vhat_i>, dv_i = g_i / ||v_i|| (dw_i - dg_i vhat_i).
  const Vector<Scalar> inv_norm = norms.col(0).cwiseInverse();
  const Vector<Scalar> dg =
      (dw_.array() * v_.array()).matrix().rowwise().sum().cwiseProduct(inv_norm);
  dg_.col(0) += dg;
  dw_.noalias() -= (dg.cwiseProduct(inv_norm)).asDiagonal() * v_;
  dv_.noalias() += (g_.col(0).cwiseProduct(inv_norm)).asDiagonal() * dw_;
}

template <typename Scalar>
std::vector<Param<Scalar>> WeightNorm<Scalar>::params() {
  std::vector<Param<Scalar>> result;
  if (has_bias_) result.push_back({"bias", &bias_, &dbias_, true});
  result.push_back({"weight_g", &g_, &dg_});
  result.push_back({"weight_v", &v_, &dv_});
  return result;
}

template <typename Scalar>
std::unique_ptr<Layer<Scalar>> WeightNorm<Scalar>::clone() const {
  return std::make_unique<WeightNorm>(*this);
}

template <typename Scalar>
typename WeightNorm<Scalar>::Mat WeightNorm<Scalar>::jacobian(ConstRef /*x_sample*/) const {
  return weight();
}

template class WeightNorm<float>;
template class WeightNorm<double>;

}  // namespace gradscope
