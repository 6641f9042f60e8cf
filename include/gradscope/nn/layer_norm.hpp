// Layer normalisation over the features of each sample, PyTorch's nn.LayerNorm(F).
//
//   x, y : (F, B)     weight gamma, bias beta : (F, 1)
//
//   forward, per sample (column) x, means over its F features:
//     mu = mean(x),  var = mean((x - mu)^2)  (biased),  sigma = sqrt(var + eps)
//     xhat = (x - mu) / sigma,  y = gamma xhat + beta
//   backward, per sample, with g = gamma dy:
//     dx = (g - mean(g) - xhat mean(g xhat)) / sigma                  (assigned)
//     dgamma += sum_b dy xhat,  dbeta += sum_b dy                      (accumulated)
//   jacobian  dy/dx = diag(gamma) (I - 1 1^T / F - xhat xhat^T / F) / sigma
//
// The same in training and evaluation mode (statistics are the sample's own). Its Jacobian kills
// the direction 1 (a shift of every feature) and, up to eps, the direction xhat (a rescaling);
// the all-ones input normalises to 0, so it maps to beta. eps 1e-5, gamma 1, beta 0 as PyTorch.
// Parameters "weight", "bias" (none without elementwise affine). docs/derivations/layer_norm.md.
#pragma once

#include "gradscope/nn/layer.hpp"

namespace gradscope {

template <typename Scalar>
class LayerNorm final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::Mat;
  using typename Layer<Scalar>::ConstRef;
  using typename Layer<Scalar>::Ref;

  explicit LayerNorm(Index features, double eps = 1e-5, bool elementwise_affine = true);

  std::string_view kind() const override { return "layer_norm"; }
  Index output_size(Index input_size) const override;
  // saved.tensors: [0] xhat (F, B), [1] 1 / sigma (1, B).
  void forward(ConstRef x, Ref y, Saved<Scalar>& saved) const override;
  void backward(ConstRef x, ConstRef y, const Saved<Scalar>& saved, ConstRef dy, Ref dx) override;
  std::vector<Param<Scalar>> params() override;
  std::unique_ptr<Layer<Scalar>> clone() const override;
  Mat jacobian(ConstRef x_sample) const override;

  Index features() const { return weight_.rows(); }
  double eps() const { return eps_; }
  bool elementwise_affine() const { return affine_; }
  Mat& weight() { return weight_; }
  const Mat& weight() const { return weight_; }
  Mat& bias() { return bias_; }
  const Mat& bias() const { return bias_; }

 private:
  // xhat (F, B) and 1 / sigma (1, B) of every sample of x.
  void normalise(ConstRef x, Mat& xhat, Mat& inv_std) const;

  Mat weight_;   // gamma (F, 1); stays 1 without affine
  Mat bias_;     // beta (F, 1); stays 0 without affine
  Mat dweight_;  // (F, 1)
  Mat dbias_;    // (F, 1)
  double eps_;
  bool affine_;
};

}  // namespace gradscope
