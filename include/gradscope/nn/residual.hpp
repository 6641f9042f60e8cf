// Residual block: a skip path plus a scaled branch, h_out = P h + alpha F(h).
//
//   x = h      : (in, batch)        the block's input h_{l-1}
//   F          : a Sequential branch (in -> out), built by the caller (Dense + act, two Dense +
//                act, a norm first, ...)
//   P          : identity (out = in), or a Dense projection without bias (out, in)
//   alpha      : a fixed scalar, or the learnable parameter "alpha" (1x1); ReZero and SkipInit
//                start it at 0, so the block starts as the identity
//
//   pre-activation  (identity skip)  y = P x + alpha F(x)
//   post-activation (original ResNet) z = P x + alpha F(x),  y = phi(z)
//
//   backward  dz = dy (pre),  dz = phi'(z) * dy (post)
//             dx = P^T dz + J_F^T (alpha dz)                           (assigned)
//             dalpha += <dz, F(x)>,  dP += dz x^T,  branch parameters += via F's backward with
//             cotangent alpha dz                                       (accumulated)
//   jacobian  dy/dx = P + alpha J_F (pre),  diag(phi'(z)) (P + alpha J_F) (post), with J_F the
//             branch's own (closed-form, composed) Jacobian
//
// The post-activation variant takes phi' from phi's output, so phi must be one whose derivative
// its output determines: identity, sigmoid, tanh, relu, leaky_relu with slope >= 0 (not gelu).
//
// Parameter names, as in this PyTorch module (own parameter first, then children in order):
//
//   class Residual(nn.Module):
//       def __init__(self, branch, projection=None, alpha=1.0, learnable_alpha=False, phi=None):
//           super().__init__()
//           self.alpha = nn.Parameter(torch.full((1, 1), alpha)) if learnable_alpha else alpha
//           self.branch = branch          # nn.Sequential
//           self.projection = projection  # nn.Linear(in, out, bias=False) or None
//           self.phi = phi                # None (pre-activation) or e.g. nn.ReLU()
//       def forward(self, h):
//           skip = h if self.projection is None else self.projection(h)
//           z = skip + self.alpha * self.branch(h)
//           return z if self.phi is None else self.phi(z)
//
// named_parameters(): "alpha" (learnable only), "branch.0.weight", "branch.0.bias", ...,
// "projection.weight". docs/derivations/residual.md has the derivation.
//
// Observers: backward(..., observer) hands the observer to the branch, whose children are
// reported one level deeper (backward_observer.hpp); the projection is not reported. A probe
// splits dx = dL/dh_{l-1} into skip part skip_gradient() and branch part dx - skip.
#pragma once

#include <optional>

#include "gradscope/nn/activation.hpp"
#include "gradscope/nn/backward_observer.hpp"
#include "gradscope/nn/dense.hpp"
#include "gradscope/nn/sequential.hpp"

namespace gradscope {

enum class ResidualVariant { kPreActivation, kPostActivation };

struct ResidualOptions {
  ResidualVariant variant = ResidualVariant::kPreActivation;
  double alpha = 1.0;            // the branch's scale
  bool learnable_alpha = false;  // true: a parameter "alpha", initialised to `alpha`
  ActivationKind activation = ActivationKind::kRelu;  // phi, post-activation only
  double negative_slope = 0.01;                       // leaky_relu's slope

  // ReZero / SkipInit: identity skip, learnable alpha starting at 0.
  static ResidualOptions rezero() {
    ResidualOptions options;
    options.alpha = 0.0;
    options.learnable_alpha = true;
    return options;
  }
};

template <typename Scalar>
class Residual final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::Mat;
  using typename Layer<Scalar>::ConstRef;
  using typename Layer<Scalar>::Ref;

  // Identity skip: the branch must keep the width.
  explicit Residual(Sequential<Scalar> branch, ResidualOptions options = {});
  // Projected skip: `projection` (no bias) maps the input width to the branch's output width.
  Residual(Sequential<Scalar> branch, Dense<Scalar> projection, ResidualOptions options = {});

  std::string_view kind() const override { return "residual"; }
  Index output_size(Index input_size) const override;
  // saved.tensors[0] = F(x) (out, batch); saved.children[0] is the branch's own record.
  void forward(ConstRef x, Ref y, Saved<Scalar>& saved) const override;
  void backward(ConstRef x, ConstRef y, const Saved<Scalar>& saved, ConstRef dy, Ref dx) override;
  // backward, handing `observer` (may be null) to the branch's Sequential backward.
  void backward(ConstRef x, ConstRef y, const Saved<Scalar>& saved, ConstRef dy, Ref dx,
                BackwardObserver<Scalar>* observer);
  std::vector<Param<Scalar>> params() override;
  std::vector<Buffer<Scalar>> buffers() override;
  std::unique_ptr<Layer<Scalar>> clone() const override;
  Mat jacobian(ConstRef x_sample) const override;
  void set_training(bool training) override;
  bool depends_on_mode() const override { return branch_.depends_on_mode(); }
  void release_grad() override;

  // The skip path's share of dx: P^T dy (pre-activation) or P^T (phi'(z) * dy) (post), where
  // y (out, batch) is the block's output from forward (read by the post variant only).
  void skip_gradient(ConstRef y, ConstRef dy, Ref dskip) const;
  // Pre-activation only (the skip's share then does not depend on the output).
  void skip_gradient(ConstRef dy, Ref dskip) const;

  const Sequential<Scalar>& branch() const { return branch_; }
  Sequential<Scalar>& branch() { return branch_; }
  bool has_projection() const { return projection_.has_value(); }
  // P; only when has_projection().
  const Dense<Scalar>& projection() const { return projection_.value(); }
  Dense<Scalar>& projection() { return projection_.value(); }
  double alpha() const { return static_cast<double>(alpha_(0, 0)); }
  void set_alpha(double alpha) { alpha_(0, 0) = static_cast<Scalar>(alpha); }
  bool learnable_alpha() const { return learnable_alpha_; }
  ResidualVariant variant() const { return variant_; }
  // phi of the post-activation variant.
  const Activation<Scalar>& activation() const { return activation_; }

 private:
  // dz = dy (pre) or phi'(z) * dy (post), phi' read from the block's output y.
  void sum_gradient(ConstRef y, ConstRef dy, Ref dz) const;

  Sequential<Scalar> branch_;
  std::optional<Dense<Scalar>> projection_;
  Mat alpha_;   // (1, 1)
  Mat dalpha_;  // (1, 1), used when learnable
  bool learnable_alpha_;
  ResidualVariant variant_;
  Activation<Scalar> activation_;
  // Backward's scratch, reused across calls.
  Mat dsum_;         // dL/dz (out, batch)
  Mat dbranch_out_;  // alpha dz (out, batch)
  Mat dbranch_in_;   // J_F^T alpha dz (in, batch)
};

}  // namespace gradscope
