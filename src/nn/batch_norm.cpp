#include "gradscope/nn/batch_norm.hpp"

#include "gradscope/core/error.hpp"

namespace gradscope {

template <typename Scalar>
BatchNorm<Scalar>::BatchNorm(Index features, double eps, double momentum, bool affine)
    : weight_(Mat::Ones(features, 1)),
      bias_(Mat::Zero(features, 1)),
      dweight_(Mat::Zero(features, 1)),
      dbias_(Mat::Zero(features, 1)),
      running_mean_(Mat::Zero(features, 1)),
      running_var_(Mat::Ones(features, 1)),
      eps_(eps),
      momentum_(momentum),
      affine_(affine) {
  GRADSCOPE_CHECK(features >= 1, "batch_norm: features must be >= 1, got {}", features);
  GRADSCOPE_CHECK(eps > 0, "batch_norm: eps must be > 0, got {}", eps);
}

template <typename Scalar>
Index BatchNorm<Scalar>::output_size(Index input_size) const {
  GRADSCOPE_CHECK(input_size == features(), "batch_norm: expects {} features, got {}", features(),
                  input_size);
  return input_size;
}

template <typename Scalar>
void BatchNorm<Scalar>::statistics(ConstRef x, bool batch, Mat& mean, Mat& inv_std,
                                   Mat* variance) const {
  const Scalar eps = static_cast<Scalar>(eps_);
  if (!batch) {
    mean = running_mean_;
    inv_std = (running_var_.array() + eps).rsqrt().matrix();
    return;
  }
  if (x.cols() < 2) {
    throw_bad_input("batch_norm: training mode needs more than 1 sample per batch, got {}",
                    x.cols());
  }
  mean = x.rowwise().mean();
  const Mat variance_b =
      (x.colwise() - mean.col(0)).array().square().rowwise().mean().matrix();  // biased
  inv_std = (variance_b.array() + eps).rsqrt().matrix();
  if (variance != nullptr) *variance = variance_b;
}

template <typename Scalar>
void BatchNorm<Scalar>::forward(ConstRef x, Ref y, Saved<Scalar>& saved) const {
  output_size(x.rows());
  const bool batch = this->training();
  saved.tensors.resize(3);
  Mat& xhat = saved.tensors[0];
  Mat& inv_std = saved.tensors[1];
  saved.tensors[2] = Mat::Constant(1, 1, batch ? Scalar(1) : Scalar(0));
  Mat mean, variance;
  statistics(x, batch, mean, inv_std, &variance);
  xhat = x.colwise() - mean.col(0);
  xhat.array().colwise() *= inv_std.col(0).array();
  y.array() = xhat.array().colwise() * weight_.col(0).array();
  y.array().colwise() += bias_.col(0).array();

  if (batch) {
    const Scalar m = static_cast<Scalar>(momentum_);
    const Scalar unbias = static_cast<Scalar>(x.cols()) / static_cast<Scalar>(x.cols() - 1);
    running_mean_ = (Scalar(1) - m) * running_mean_ + m * mean;
    running_var_ = (Scalar(1) - m) * running_var_ + (m * unbias) * variance;
    ++num_batches_tracked_;
  }
}

template <typename Scalar>
void BatchNorm<Scalar>::backward(ConstRef /*x*/, ConstRef /*y*/, const Saved<Scalar>& saved,
                                 ConstRef dy, Ref dx) {
  const Mat& xhat = saved.tensors.at(0);
  const Mat& inv_std = saved.tensors.at(1);
  const bool batch = saved.tensors.at(2)(0, 0) != Scalar(0);

  if (affine_) {
    dweight_.col(0).noalias() += (dy.array() * xhat.array()).matrix().rowwise().sum();
    dbias_.col(0).noalias() += dy.rowwise().sum();
  }
  // g = gamma dy, into dx.
  dx.array() = dy.array().colwise() * weight_.col(0).array();
  if (batch) {
    // mu and var depend on every sample: subtract g's projections on 1 and on xhat.
    const Vector<Scalar> mean_g = dx.rowwise().mean();
    const Vector<Scalar> mean_g_xhat = (dx.array() * xhat.array()).matrix().rowwise().mean();
    dx.colwise() -= mean_g;
    dx.array() -= xhat.array().colwise() * mean_g_xhat.array();
  }
  dx.array().colwise() *= inv_std.col(0).array();
}

template <typename Scalar>
std::vector<Param<Scalar>> BatchNorm<Scalar>::params() {
  if (!affine_) return {};
  return {{"weight", &weight_, &dweight_, true}, {"bias", &bias_, &dbias_, true}};
}

template <typename Scalar>
std::vector<Buffer<Scalar>> BatchNorm<Scalar>::buffers() {
  return {{"running_mean", &running_mean_, nullptr},
          {"running_var", &running_var_, nullptr},
          {"num_batches_tracked", nullptr, &num_batches_tracked_}};
}

template <typename Scalar>
std::unique_ptr<Layer<Scalar>> BatchNorm<Scalar>::clone() const {
  return std::make_unique<BatchNorm>(*this);
}

template <typename Scalar>
typename BatchNorm<Scalar>::Mat BatchNorm<Scalar>::jacobian(ConstRef x_sample) const {
  output_size(x_sample.rows());
  const Vector<Scalar> scale =
      weight_.col(0).array() * (running_var_.col(0).array() + static_cast<Scalar>(eps_)).rsqrt();
  return scale.asDiagonal();
}

template <typename Scalar>
typename BatchNorm<Scalar>::Mat BatchNorm<Scalar>::batch_jacobian(ConstRef x) const {
  output_size(x.rows());
  const bool batch = this->training();
  const Index features = x.rows();
  const Index samples = x.cols();
  Mat mean, inv_std;
  statistics(x, batch, mean, inv_std, nullptr);
  Mat jac = Mat::Zero(features * samples, features * samples);
  const Scalar inv_b = Scalar(1) / static_cast<Scalar>(samples);
  for (Index f = 0; f < features; ++f) {
    const Scalar scale = weight_(f, 0) * inv_std(f, 0);
    if (!batch) {
      for (Index b = 0; b < samples; ++b) jac(f + features * b, f + features * b) = scale;
      continue;
    }
    // dy_fb / dx_fc = gamma_f / sigma_f (delta_bc - 1/B - xhat_fb xhat_fc / B)
    for (Index b = 0; b < samples; ++b) {
      const Scalar xhat_b = (x(f, b) - mean(f, 0)) * inv_std(f, 0);
      for (Index c = 0; c < samples; ++c) {
        const Scalar xhat_c = (x(f, c) - mean(f, 0)) * inv_std(f, 0);
        const Scalar delta = b == c ? Scalar(1) : Scalar(0);
        jac(f + features * b, f + features * c) = scale * (delta - inv_b - xhat_b * xhat_c * inv_b);
      }
    }
  }
  return jac;
}

template <typename Scalar>
void BatchNorm<Scalar>::set_running_mean(ConstRef value) {
  if (value.rows() != features() || value.cols() != 1) {
    throw_bad_input("batch_norm: running_mean must be {}x1, got {}x{}", features(), value.rows(),
                    value.cols());
  }
  running_mean_ = value;
}

template <typename Scalar>
void BatchNorm<Scalar>::set_running_var(ConstRef value) {
  if (value.rows() != features() || value.cols() != 1) {
    throw_bad_input("batch_norm: running_var must be {}x1, got {}x{}", features(), value.rows(),
                    value.cols());
  }
  running_var_ = value;
}

template class BatchNorm<float>;
template class BatchNorm<double>;

}  // namespace gradscope
