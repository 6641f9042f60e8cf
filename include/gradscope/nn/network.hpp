// Network: a Sequential together with the buffers of one forward/backward pass.
//
// Sequential's forward is const and keeps its intermediates in a caller-owned Saved; Network is
// that caller for the common case of one model trained on batches. Buffers are reused from call
// to call, so a training loop with a fixed batch size allocates nothing after its first step.
#pragma once

#include "gradscope/nn/sequential.hpp"

namespace gradscope {

template <typename Scalar>
class Network {
 public:
  using Mat = Matrix<Scalar>;

  Network() = default;
  explicit Network(Sequential<Scalar> body) : body_(std::move(body)) {}

  // x: (inputs, batch). Returns the output (outputs, batch), valid until the next forward.
  const Mat& forward(ConstMatrixRef<Scalar> x);
  // dy = dL/d(output) for the last forward. Accumulates parameter gradients and returns dL/dx.
  const Mat& backward(ConstMatrixRef<Scalar> dy, BackwardObserver<Scalar>* observer = nullptr);

  void zero_grad() { body_.zero_grad(); }
  // Layer::release_grad: the next backward assigns the gradients (read none before it).
  void release_grad() { body_.release_grad(); }
  // Training mode (batch statistics in BatchNorm, the default) or evaluation mode.
  void set_training(bool training) { body_.set_training(training); }
  bool training() const { return body_.training(); }
  std::vector<Param<Scalar>> params() { return body_.params(); }
  Sequential<Scalar>& body() { return body_; }
  const Sequential<Scalar>& body() const { return body_; }
  const Mat& input() const { return input_; }
  const Mat& output() const { return output_; }
  // h_i, the output of child i of the last forward (i < size - 1; the last one is output()).
  const Mat& hidden(Index i) const { return saved_.tensors.at(static_cast<std::size_t>(i)); }

 private:
  Sequential<Scalar> body_;
  Mat input_;
  Mat output_;
  Mat dinput_;
  Saved<Scalar> saved_;
};

}  // namespace gradscope
