#include "gradscope/nn/residual.hpp"

#include <fmt/format.h>

#include "gradscope/core/error.hpp"

namespace gradscope {

namespace {

// phi' must follow from phi's output: y > 0 exactly when z > 0 for relu and leaky_relu with a
// slope >= 0, and sigmoid and tanh write phi' in y.
void check_post_activation(const ResidualOptions& options) {
  if (options.variant != ResidualVariant::kPostActivation) return;
  if (options.activation == ActivationKind::kGelu) {
    throw_bad_input(
        "residual: the post-activation variant needs an activation whose derivative follows from "
        "its output (identity, sigmoid, tanh, relu, leaky_relu), got gelu");
  }
  if (options.activation == ActivationKind::kLeakyRelu && options.negative_slope < 0) {
    throw_bad_input("residual: post-activation leaky_relu needs a slope >= 0, got {}",
                    options.negative_slope);
  }
}

}  // namespace

template <typename Scalar>
Residual<Scalar>::Residual(Sequential<Scalar> branch, ResidualOptions options)
    : branch_(std::move(branch)),
      alpha_(Mat::Constant(1, 1, static_cast<Scalar>(options.alpha))),
      dalpha_(Mat::Zero(1, 1)),
      learnable_alpha_(options.learnable_alpha),
      variant_(options.variant),
      activation_(options.variant == ResidualVariant::kPostActivation ? options.activation
                                                                      : ActivationKind::kIdentity,
                  options.negative_slope) {
  check_post_activation(options);
}

template <typename Scalar>
Residual<Scalar>::Residual(Sequential<Scalar> branch, Dense<Scalar> projection,
                           ResidualOptions options)
    : Residual(std::move(branch), options) {
  GRADSCOPE_CHECK(!projection.has_bias(), "residual: the projection must not have a bias");
  projection_ = std::move(projection);
}

template <typename Scalar>
Index Residual<Scalar>::output_size(Index input_size) const {
  const Index out = branch_.output_size(input_size);
  if (projection_) {
    GRADSCOPE_CHECK(projection_->in_features() == input_size && projection_->out_features() == out,
                    "residual: projection is {}x{}, the block maps {} to {} features",
                    projection_->out_features(), projection_->in_features(), input_size, out);
  } else {
    GRADSCOPE_CHECK(out == input_size,
                    "residual: the branch maps {} to {} features; an identity skip needs equal "
                    "widths (give a projection)",
                    input_size, out);
  }
  return out;
}

template <typename Scalar>
void Residual<Scalar>::forward(ConstRef x, Ref y, Saved<Scalar>& saved) const {
  const Index out = output_size(x.rows());
  saved.tensors.resize(1);
  saved.children.resize(1);
  Mat& branch_out = saved.tensors[0];
  branch_out.resize(out, x.cols());
  branch_.forward(x, branch_out, saved.children[0]);
  Saved<Scalar> none;
  if (projection_) {
    projection_->forward(x, y, none);
  } else {
    y = x;
  }
  y.noalias() += alpha_(0, 0) * branch_out;
  if (variant_ == ResidualVariant::kPostActivation) activation_.forward(y, y, none);
}

template <typename Scalar>
void Residual<Scalar>::sum_gradient(ConstRef y, ConstRef dy, Ref dz) const {
  if (variant_ == ResidualVariant::kPreActivation) {
    dz = dy;
    return;
  }
  // y stands in for z: relu and leaky_relu test its sign, which is z's (see the constructor).
  activation_.derivative(y, y, dz);
  dz.array() *= dy.array();
}

template <typename Scalar>
void Residual<Scalar>::backward(ConstRef x, ConstRef y, const Saved<Scalar>& saved, ConstRef dy,
                                Ref dx) {
  backward(x, y, saved, dy, dx, nullptr);
}

template <typename Scalar>
void Residual<Scalar>::backward(ConstRef x, ConstRef y, const Saved<Scalar>& saved, ConstRef dy,
                                Ref dx, BackwardObserver<Scalar>* observer) {
  const Mat& branch_out = saved.tensors.at(0);
  dsum_.resize(dy.rows(), dy.cols());
  sum_gradient(y, dy, dsum_);

  // Branch path: F's cotangent is alpha dz.
  dbranch_out_.noalias() = alpha_(0, 0) * dsum_;
  dbranch_in_.resize(x.rows(), x.cols());
  if (observer != nullptr) {
    NestedObserver<Scalar> nested(*observer);
    branch_.backward(x, branch_out, saved.children.at(0), dbranch_out_, dbranch_in_, &nested);
  } else {
    branch_.backward(x, branch_out, saved.children.at(0), dbranch_out_, dbranch_in_, nullptr);
  }
  if (learnable_alpha_) dalpha_(0, 0) += (dsum_.array() * branch_out.array()).sum();

  // Skip path: dx = P^T dz (the projection accumulates dP = dz x^T), then add the branch's share.
  if (projection_) {
    Saved<Scalar> none;
    projection_->backward(x, y, none, dsum_, dx);
  } else {
    dx = dsum_;
  }
  dx += dbranch_in_;
}

template <typename Scalar>
void Residual<Scalar>::skip_gradient(ConstRef y, ConstRef dy, Ref dskip) const {
  Mat dz(dy.rows(), dy.cols());
  sum_gradient(y, dy, dz);
  if (projection_) {
    dskip.noalias() = projection_->weight().transpose() * dz;
  } else {
    dskip = dz;
  }
}

template <typename Scalar>
void Residual<Scalar>::skip_gradient(ConstRef dy, Ref dskip) const {
  GRADSCOPE_CHECK(variant_ == ResidualVariant::kPreActivation,
                  "residual: the post-activation skip gradient needs the block's output y");
  skip_gradient(dy, dy, dskip);
}

template <typename Scalar>
std::vector<Param<Scalar>> Residual<Scalar>::params() {
  std::vector<Param<Scalar>> result;
  if (learnable_alpha_) result.push_back({"alpha", &alpha_, &dalpha_});
  for (Param<Scalar>& p : branch_.params()) {
    p.name = "branch." + p.name;
    result.push_back(std::move(p));
  }
  if (projection_) {
    for (Param<Scalar>& p : projection_->params()) {
      p.name = "projection." + p.name;
      result.push_back(std::move(p));
    }
  }
  return result;
}

template <typename Scalar>
std::vector<Buffer<Scalar>> Residual<Scalar>::buffers() {
  std::vector<Buffer<Scalar>> result = branch_.buffers();
  for (Buffer<Scalar>& b : result) b.name = "branch." + b.name;
  return result;
}

template <typename Scalar>
std::unique_ptr<Layer<Scalar>> Residual<Scalar>::clone() const {
  return std::make_unique<Residual>(*this);
}

template <typename Scalar>
void Residual<Scalar>::set_training(bool training) {
  Layer<Scalar>::set_training(training);
  branch_.set_training(training);
  if (projection_) projection_->set_training(training);
}

template <typename Scalar>
void Residual<Scalar>::release_grad() {
  if (learnable_alpha_) dalpha_.setZero();
  branch_.release_grad();
  if (projection_) projection_->release_grad();
}

template <typename Scalar>
typename Residual<Scalar>::Mat Residual<Scalar>::jacobian(ConstRef x_sample) const {
  // J_F is the branch's evaluation-mode Jacobian (Sequential::jacobian composes its children).
  Mat jac = alpha_(0, 0) * branch_.jacobian(x_sample);
  if (projection_) {
    jac += projection_->weight();
  } else {
    jac.diagonal().array() += Scalar(1);
  }
  if (variant_ == ResidualVariant::kPostActivation) {
    // phi'(z) at the evaluation-mode output; a clone keeps this layer's buffers untouched.
    Mat y(jac.rows(), 1);
    Saved<Scalar> saved;
    if (depends_on_mode()) {
      Residual copy(*this);
      copy.set_training(false);
      copy.forward(x_sample, y, saved);
    } else {
      forward(x_sample, y, saved);
    }
    Mat dphi(jac.rows(), 1);
    activation_.derivative(y, y, dphi);
    jac = dphi.col(0).asDiagonal() * jac;
  }
  return jac;
}

template class Residual<float>;
template class Residual<double>;

}  // namespace gradscope
