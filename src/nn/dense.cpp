#include "gradscope/nn/dense.hpp"

#include "gradscope/core/columns.hpp"
#include "gradscope/core/error.hpp"

namespace gradscope {

template <typename Scalar>
Dense<Scalar>::Dense(Index in_features, Index out_features, bool has_bias)
    : weight_(Mat::Zero(out_features, in_features)),
      bias_(Mat::Zero(has_bias ? out_features : 0, 1)),
      dweight_(Mat::Zero(out_features, in_features)),
      dbias_(Mat::Zero(has_bias ? out_features : 0, 1)),
      has_bias_(has_bias) {
  GRADSCOPE_CHECK(in_features >= 1 && out_features >= 1, "dense: sizes must be >= 1, got {}x{}",
                  out_features, in_features);
}

template <typename Scalar>
Index Dense<Scalar>::output_size(Index input_size) const {
  GRADSCOPE_CHECK(input_size == in_features(), "dense: expects {} input features, got {}",
                  in_features(), input_size);
  return out_features();
}

template <typename Scalar>
void Dense<Scalar>::forward(ConstRef x, Ref y, Saved<Scalar>& /*saved*/) const {
  // With the bias written first the product accumulates onto it: no zeroing pass before the
  // matrix product and no bias pass after it.
  if (has_bias_) {
    fill_columns<Scalar>(y, bias_);
    y.noalias() += weight_ * x;
  } else {
    y.noalias() = weight_ * x;
  }
}

template <typename Scalar>
void Dense<Scalar>::backward(ConstRef x, ConstRef /*y*/, const Saved<Scalar>& /*saved*/,
                             ConstRef dy, Ref dx) {
  dx.noalias() = weight_.transpose() * dy;
  if (gradients_released_) {
    dweight_.noalias() = dy * x.transpose();
    if (has_bias_) dbias_.setZero();
    gradients_released_ = false;
  } else {
    dweight_.noalias() += dy * x.transpose();
  }
  if (has_bias_) add_column_sum<Scalar>(dy, dbias_);
}

template <typename Scalar>
std::vector<Param<Scalar>> Dense<Scalar>::params() {
  std::vector<Param<Scalar>> result{{"weight", &weight_, &dweight_}};
  if (has_bias_) result.push_back({"bias", &bias_, &dbias_, true});
  return result;
}

template <typename Scalar>
std::unique_ptr<Layer<Scalar>> Dense<Scalar>::clone() const {
  return std::make_unique<Dense>(*this);
}

template <typename Scalar>
typename Dense<Scalar>::Mat Dense<Scalar>::jacobian(ConstRef /*x_sample*/) const {
  return weight_;
}

template class Dense<float>;
template class Dense<double>;

}  // namespace gradscope
