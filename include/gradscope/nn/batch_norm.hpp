// Batch normalisation, PyTorch's nn.BatchNorm1d on a batch of shape (features, batch).
//
//   x, y : (F, B)     weight gamma, bias beta, running_mean, running_var : (F, 1)
//
//   training (batch statistics, per feature, means over the B samples):
//     mu = mean(x),  var = mean((x - mu)^2)  (biased),  sigma = sqrt(var + eps)
//     xhat = (x - mu) / sigma,  y = gamma xhat + beta
//     running_mean <- (1 - m) running_mean + m mu
//     running_var  <- (1 - m) running_var + m var B / (B - 1)   (unbiased),  num_batches_tracked +=
//     1
//   evaluation (running statistics):
//     sigma = sqrt(running_var + eps),  xhat = (x - running_mean) / sigma,  y = gamma xhat + beta
//
//   backward, with g = gamma dy:
//     training    dx = (g - mean(g) - xhat mean(g xhat)) / sigma      (through mu and var)
//     evaluation  dx = g / sigma
//     both        dgamma += sum_b dy xhat,  dbeta += sum_b dy
//
// Defaults as PyTorch: eps 1e-5, momentum m = 0.1, gamma 1, beta 0, running_mean 0,
// running_var 1. A training-mode batch needs B >= 2 (PyTorch raises there too).
//
// Jacobians. In training mode a sample's output depends on the whole batch (through mu and var),
// so no per-sample Jacobian exists: jacobian(x_sample) is the evaluation-mode one,
// diag(gamma / sqrt(running_var + eps)), what the network computes once deployed.
// batch_jacobian(x) gives the full Jacobian of vec(y) with respect to vec(x) in the current mode
// (column-major vec: entry (f, b) sits at f + F b), for analysis on request. Derivations:
// docs/derivations/batch_norm.md.
//
// Parameters "weight", "bias" (without them when affine is false); buffers "running_mean",
// "running_var", "num_batches_tracked", in PyTorch's state_dict order.
#pragma once

#include <cstdint>

#include "gradscope/nn/layer.hpp"

namespace gradscope {

template <typename Scalar>
class BatchNorm final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::Mat;
  using typename Layer<Scalar>::ConstRef;
  using typename Layer<Scalar>::Ref;

  explicit BatchNorm(Index features, double eps = 1e-5, double momentum = 0.1, bool affine = true);

  std::string_view kind() const override { return "batch_norm"; }
  Index output_size(Index input_size) const override;
  // saved.tensors: [0] xhat (F, B), [1] 1 / sigma (F, 1), [2] (1, 1): 1 when batch statistics
  // were used, so backward follows the forward's mode.
  void forward(ConstRef x, Ref y, Saved<Scalar>& saved) const override;
  void backward(ConstRef x, ConstRef y, const Saved<Scalar>& saved, ConstRef dy, Ref dx) override;
  std::vector<Param<Scalar>> params() override;
  std::vector<Buffer<Scalar>> buffers() override;
  std::unique_ptr<Layer<Scalar>> clone() const override;
  // The evaluation-mode Jacobian, in either mode (see above).
  Mat jacobian(ConstRef x_sample) const override;
  // d vec(y) / d vec(x), shape (F B, F B), for the batch x in the current mode; leaves the
  // running averages untouched.
  Mat batch_jacobian(ConstRef x) const;
  bool depends_on_mode() const override { return true; }

  Index features() const { return weight_.rows(); }
  double eps() const { return eps_; }
  double momentum() const { return momentum_; }
  bool affine() const { return affine_; }
  Mat& weight() { return weight_; }
  const Mat& weight() const { return weight_; }
  Mat& bias() { return bias_; }
  const Mat& bias() const { return bias_; }

  // Buffers, for checkpoints. The setters check the shape (F, 1).
  const Mat& running_mean() const { return running_mean_; }
  const Mat& running_var() const { return running_var_; }
  std::int64_t num_batches_tracked() const { return num_batches_tracked_; }
  void set_running_mean(ConstRef value);
  void set_running_var(ConstRef value);
  void set_num_batches_tracked(std::int64_t count) { num_batches_tracked_ = count; }

 private:
  // Per-feature mean and 1 / sigma of the batch x (training) or of the running averages.
  void statistics(ConstRef x, bool batch, Mat& mean, Mat& inv_std, Mat* variance) const;

  Mat weight_;   // gamma (F, 1); stays 1 without affine
  Mat bias_;     // beta (F, 1); stays 0 without affine
  Mat dweight_;  // (F, 1)
  Mat dbias_;    // (F, 1)
  // PyTorch buffers, not parameters: a training-mode forward updates them, as PyTorch's does.
  // forward() is const (one layer serves many calls with caller-owned Saved), so they are
  // mutable; a training-mode output still depends only on x and the parameters.
  mutable Mat running_mean_;  // (F, 1)
  mutable Mat running_var_;   // (F, 1)
  mutable std::int64_t num_batches_tracked_ = 0;
  double eps_;
  double momentum_;
  bool affine_;
};

}  // namespace gradscope
