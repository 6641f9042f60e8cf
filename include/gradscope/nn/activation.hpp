// Elementwise activations y = phi(x).
//
//   backward  dx = dy * phi'(x)          (elementwise; no parameters)
//   jacobian  dy/dx = diag(phi'(x))
//
//   identity    phi = x                         phi' = 1                    max phi' = 1
//   sigmoid     phi = 1 / (1 + e^-x)            phi' = y (1 - y)            max phi' = 1/4
//   tanh        phi = tanh x                    phi' = 1 - y^2              max phi' = 1
//   relu        phi = max(x, 0)                 phi' = [x > 0]              max phi' = 1
//   leaky_relu  phi = x > 0 ? x : a x           phi' = x > 0 ? 1 : a        max phi' = 1
//   gelu        phi = x Phi(x) (exact, erf)     phi' = Phi(x) + x pdf(x)    max phi' ~ 1.1289
#pragma once

#include <string>

#include "gradscope/nn/layer.hpp"

namespace gradscope {

enum class ActivationKind { kIdentity, kSigmoid, kTanh, kRelu, kLeakyRelu, kGelu };

// "identity" | "linear", "sigmoid", "tanh", "relu", "leaky_relu" | "leaky-relu", "gelu".
// Throws a bad-input Error naming the accepted values otherwise.
ActivationKind parse_activation(const std::string& name);
std::string_view activation_name(ActivationKind kind);
// Sup over x of |phi'(x)|; the per-layer factor in the article's sigmoid bound.
double max_derivative(ActivationKind kind);
// Sigmoid and tanh saturate (phi' -> 0 for large |x|); the probe counts pinned units for them.
bool saturates(ActivationKind kind);

template <typename Scalar>
class Activation final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::Mat;
  using typename Layer<Scalar>::ConstRef;
  using typename Layer<Scalar>::Ref;

  // negative_slope is used by leaky_relu only (PyTorch's default 0.01).
  explicit Activation(ActivationKind kind, double negative_slope = 0.01);

  std::string_view kind() const override { return activation_name(kind_); }
  Index output_size(Index input_size) const override { return input_size; }
  void forward(ConstRef x, Ref y, Saved<Scalar>& saved) const override;
  void backward(ConstRef x, ConstRef y, const Saved<Scalar>& saved, ConstRef dy, Ref dx) override;
  std::unique_ptr<Layer<Scalar>> clone() const override;
  Mat jacobian(ConstRef x_sample) const override;

  // phi'(x) elementwise, given x and y = phi(x).
  void derivative(ConstRef x, ConstRef y, Ref dphi) const;
  ActivationKind activation() const { return kind_; }
  double negative_slope() const { return negative_slope_; }

 private:
  ActivationKind kind_;
  double negative_slope_;
};

}  // namespace gradscope
