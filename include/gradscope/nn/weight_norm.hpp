// Weight normalisation of a Dense layer, PyTorch's torch.nn.utils.weight_norm(linear, dim=0).
//
//   v : (out, in)  direction ("weight_v"),   g : (out, 1) row lengths ("weight_g"),
//   b : (out, 1)   bias ("bias", optional),  x : (in, batch),  y : (out, batch)
//
//   forward   w_i = g_i v_i / ||v_i||   (row i),   y = w x + b
//   backward  dx = w^T dy                                                     (assigned)
//             dw = dy x^T,  with vhat_i = v_i / ||v_i||:
//             dg_i += <dw_i, vhat_i>
//             dv_i += (g_i / ||v_i||) (dw_i - <dw_i, vhat_i> vhat_i)          (accumulated)
//             db += dy 1
//   jacobian  dy/dx = w
//
// Wrapping an existing Dense sets v = W and g = (||W_i||)_i, so the function is unchanged, as
// PyTorch does. A row with v_i = 0 gives 0/0 = NaN, as in PyTorch. Parameter order is PyTorch's
// after weight_norm(): "bias", "weight_g", "weight_v" (the newer
// torch.nn.utils.parametrizations.weight_norm names g and v "parametrizations.weight.original0"
// and "original1"). docs/derivations/weight_norm.md has the derivation.
#pragma once

#include "gradscope/nn/dense.hpp"

namespace gradscope {

template <typename Scalar>
class WeightNorm final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::Mat;
  using typename Layer<Scalar>::ConstRef;
  using typename Layer<Scalar>::Ref;

  // v = dense.weight(), g = its row norms, b = dense.bias().
  explicit WeightNorm(const Dense<Scalar>& dense);

  std::string_view kind() const override { return "weight_norm"; }
  Index output_size(Index input_size) const override;
  // saved.tensors: [0] w (out, in), [1] ||v_i|| (out, 1).
  void forward(ConstRef x, Ref y, Saved<Scalar>& saved) const override;
  void backward(ConstRef x, ConstRef y, const Saved<Scalar>& saved, ConstRef dy, Ref dx) override;
  std::vector<Param<Scalar>> params() override;
  std::unique_ptr<Layer<Scalar>> clone() const override;
  Mat jacobian(ConstRef x_sample) const override;

  // The effective weight w (out, in).
  Mat weight() const;
  // A plain Dense with weight w and the same bias (PyTorch's remove_weight_norm).
  Dense<Scalar> to_dense() const;

  Index in_features() const { return v_.cols(); }
  Index out_features() const { return v_.rows(); }
  bool has_bias() const { return has_bias_; }
  Mat& weight_g() { return g_; }
  const Mat& weight_g() const { return g_; }
  Mat& weight_v() { return v_; }
  const Mat& weight_v() const { return v_; }
  Mat& bias() { return bias_; }
  const Mat& bias() const { return bias_; }

 private:
  // ||v_i|| for every row, safe from under- and overflow.
  Mat row_norms() const;

  Mat g_;      // (out, 1)
  Mat v_;      // (out, in)
  Mat bias_;   // (out, 1); empty without bias
  Mat dg_;     // (out, 1)
  Mat dv_;     // (out, in)
  Mat dbias_;  // (out, 1)
  Mat dw_;     // (out, in), backward's scratch
  bool has_bias_;
};

}  // namespace gradscope
