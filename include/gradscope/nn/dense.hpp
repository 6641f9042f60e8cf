// Dense (fully connected) layer, PyTorch's nn.Linear.
//
//   forward   y  = W x + b              W: (out, in), b: (out, 1), x: (in, batch), y: (out, batch)
//   backward  dx = W^T dy               (assigned)
//             dW += dy x^T,  db += dy 1 (accumulated; 1 sums over the batch; assigned by the
//                                         first backward after release_grad())
//   jacobian  dy/dx = W
//
// Parameters start at zero; gradscope/init fills them.
#pragma once

#include "gradscope/nn/layer.hpp"

namespace gradscope {

template <typename Scalar>
class Dense final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::Mat;
  using typename Layer<Scalar>::ConstRef;
  using typename Layer<Scalar>::Ref;

  Dense(Index in_features, Index out_features, bool has_bias = true);

  std::string_view kind() const override { return "dense"; }
  Index output_size(Index input_size) const override;
  void forward(ConstRef x, Ref y, Saved<Scalar>& saved) const override;
  void backward(ConstRef x, ConstRef y, const Saved<Scalar>& saved, ConstRef dy, Ref dx) override;
  std::vector<Param<Scalar>> params() override;
  std::unique_ptr<Layer<Scalar>> clone() const override;
  Mat jacobian(ConstRef x_sample) const override;
  void release_grad() override { gradients_released_ = true; }

  Index in_features() const { return weight_.cols(); }
  Index out_features() const { return weight_.rows(); }
  bool has_bias() const { return has_bias_; }
  Mat& weight() { return weight_; }
  const Mat& weight() const { return weight_; }
  Mat& bias() { return bias_; }
  const Mat& bias() const { return bias_; }

 private:
  Mat weight_;   // (out, in)
  Mat bias_;     // (out, 1); empty without bias
  Mat dweight_;  // (out, in)
  Mat dbias_;    // (out, 1)
  bool has_bias_;
  bool gradients_released_ = false;  // the next backward assigns dW and db
};

}  // namespace gradscope
