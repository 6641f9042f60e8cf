#include "gradscope/nn/layer_norm.hpp"

#include "gradscope/core/error.hpp"

namespace gradscope {

template <typename Scalar>
LayerNorm<Scalar>::LayerNorm(Index features, double eps, bool elementwise_affine)
    : weight_(Mat::Ones(features, 1)),
      bias_(Mat::Zero(features, 1)),
      dweight_(Mat::Zero(features, 1)),
      dbias_(Mat::Zero(features, 1)),
      eps_(eps),
      affine_(elementwise_affine) {
  GRADSCOPE_CHECK(features >= 1, "layer_norm: features must be >= 1, got {}", features);
  GRADSCOPE_CHECK(eps > 0, "layer_norm: eps must be > 0, got {}", eps);
}

template <typename Scalar>
Index LayerNorm<Scalar>::output_size(Index input_size) const {
  GRADSCOPE_CHECK(input_size == features(), "layer_norm: expects {} features, got {}", features(),
                  input_size);
  return input_size;
}

template <typename Scalar>
void LayerNorm<Scalar>::normalise(ConstRef x, Mat& xhat, Mat& inv_std) const {
  const Eigen::Matrix<Scalar, 1, Eigen::Dynamic> mean = x.colwise().mean();
  xhat = x.rowwise() - mean;
  inv_std = (xhat.array().square().colwise().mean() + static_cast<Scalar>(eps_)).rsqrt().matrix();
  xhat.array().rowwise() *= inv_std.row(0).array();
}

template <typename Scalar>
void LayerNorm<Scalar>::forward(ConstRef x, Ref y, Saved<Scalar>& saved) const {
  output_size(x.rows());
  saved.tensors.resize(2);
  Mat& xhat = saved.tensors[0];
  normalise(x, xhat, saved.tensors[1]);
  y.array() = xhat.array().colwise() * weight_.col(0).array();
  y.array().colwise() += bias_.col(0).array();
}

template <typename Scalar>
void LayerNorm<Scalar>::backward(ConstRef /*x*/, ConstRef /*y*/, const Saved<Scalar>& saved,
                                 ConstRef dy, Ref dx) {
  const Mat& xhat = saved.tensors.at(0);
  const Mat& inv_std = saved.tensors.at(1);
  if (affine_) {
    dweight_.col(0).noalias() += (dy.array() * xhat.array()).matrix().rowwise().sum();
    dbias_.col(0).noalias() += dy.rowwise().sum();
  }
  // g = gamma dy, into dx; then remove its projections on 1 and on xhat, sample by sample.
  dx.array() = dy.array().colwise() * weight_.col(0).array();
  const Eigen::Matrix<Scalar, 1, Eigen::Dynamic> mean_g = dx.colwise().mean();
  const Eigen::Matrix<Scalar, 1, Eigen::Dynamic> mean_g_xhat =
      (dx.array() * xhat.array()).matrix().colwise().mean();
  dx.rowwise() -= mean_g;
  dx.array() -= xhat.array().rowwise() * mean_g_xhat.array();
  dx.array().rowwise() *= inv_std.row(0).array();
}

template <typename Scalar>
std::vector<Param<Scalar>> LayerNorm<Scalar>::params() {
  if (!affine_) return {};
  return {{"weight", &weight_, &dweight_, true}, {"bias", &bias_, &dbias_, true}};
}

template <typename Scalar>
std::unique_ptr<Layer<Scalar>> LayerNorm<Scalar>::clone() const {
  return std::make_unique<LayerNorm>(*this);
}

template <typename Scalar>
typename LayerNorm<Scalar>::Mat LayerNorm<Scalar>::jacobian(ConstRef x_sample) const {
  output_size(x_sample.rows());
  Mat xhat, inv_std;
  normalise(x_sample, xhat, inv_std);
  const Index n = features();
  const Scalar inv_n = Scalar(1) / static_cast<Scalar>(n);
  Mat jac = Mat::Identity(n, n);
  jac.array() -= inv_n;
  jac.noalias() -= inv_n * xhat * xhat.transpose();
  jac = (weight_.col(0) * inv_std(0, 0)).asDiagonal() * jac;
  return jac;
}

template class LayerNorm<float>;
template class LayerNorm<double>;

}  // namespace gradscope
