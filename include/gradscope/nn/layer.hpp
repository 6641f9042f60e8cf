// The Layer contract: the backward pass is a vector-Jacobian product.
//
//   x  : (in, batch)   input, one column per sample
//   y  : (out, batch)  output, y = f(x; theta)
//   dy : (out, batch)  dL/dy
//   dx : (in, batch)   dL/dx = J_x^T dy                 -- ASSIGNED by backward
//   d(theta)           += J_theta^T dy                  -- ACCUMULATED by backward
//                                                          (ASSIGNED after release_grad())
//
// forward() is const and repeatable: what backward needs beyond x and y goes into `saved`, which
// the caller (a container or an unroller) owns, so one layer object can serve many positions.
// backward() must follow a forward() of the same x in the same mode.
// Layers never log, print or know about probes; containers call observers between layers.
//
// Mode: every layer is in training mode until set_training(false), as in PyTorch's train() and
// eval(). Only layers with batch statistics (BatchNorm) compute differently; containers pass the
// mode on to their children. In training mode BatchNorm's forward also updates its running
// averages (buffers), so the output is repeatable but the buffers are not.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gradscope/core/types.hpp"

namespace gradscope {

// A named parameter: views of its value and of its accumulated gradient (same shape).
// Names follow PyTorch ("weight", "bias"; containers prefix "0.", "2.", ...). `vector` marks
// what PyTorch holds as a 1-D tensor (biases, norm scales) and gradscope as an (n, 1) matrix,
// so that checkpoints keep PyTorch's shapes.
template <typename Scalar>
struct Param {
  std::string name;
  Matrix<Scalar>* value;
  Matrix<Scalar>* grad;
  bool vector = false;
};

// A named piece of state that is saved with the model but not trained: a PyTorch buffer
// ("running_mean", "running_var", "num_batches_tracked"), named like params(). Exactly one of
// `value` (floating point) and `count` (PyTorch's int64 buffers) is set.
template <typename Scalar>
struct Buffer {
  std::string name;
  Matrix<Scalar>* value = nullptr;
  std::int64_t* count = nullptr;
};

// What forward leaves for backward beyond x and y; containers nest their children's.
template <typename Scalar>
struct Saved {
  std::vector<Matrix<Scalar>> tensors;
  std::vector<Saved> children;
};

template <typename Scalar>
class Layer {
 public:
  using Mat = Matrix<Scalar>;
  using ConstRef = ConstMatrixRef<Scalar>;
  using Ref = MatrixRef<Scalar>;

  virtual ~Layer() = default;

  // Short lower-case kind: "dense", "tanh", "sequential", ...
  virtual std::string_view kind() const = 0;
  // Output features for `input_size` input features; throws if the layer cannot take them.
  virtual Index output_size(Index input_size) const = 0;

  // y must already have shape (output_size(x.rows()), x.cols()).
  virtual void forward(ConstRef x, Ref y, Saved<Scalar>& saved) const = 0;
  // dx must already have the shape of x. See the contract at the top of this file.
  virtual void backward(ConstRef x, ConstRef y, const Saved<Scalar>& saved, ConstRef dy,
                        Ref dx) = 0;

  virtual std::vector<Param<Scalar>> params() { return {}; }
  virtual std::vector<Buffer<Scalar>> buffers() { return {}; }
  virtual std::unique_ptr<Layer> clone() const = 0;

  // Training (true, the default) or evaluation mode; containers override to reach children.
  virtual void set_training(bool training) { training_ = training; }
  bool training() const { return training_; }
  // True when forward computes differently in the two modes (BatchNorm, containers holding one).
  virtual bool depends_on_mode() const { return false; }

  // Per-sample input Jacobian dy/dx, shape (out, in), at one sample x (a single column).
  // The default assembles it from backward with one-hot cotangents on a clone (so parameter
  // gradients here are untouched); layers override it with a closed form where one is cheap.
  // For layers with batch statistics it is the evaluation-mode Jacobian (see batch_norm.hpp).
  virtual Mat jacobian(ConstRef x_sample) const;

  // Sets every parameter gradient to zero (gradients accumulate; zeroing is explicit).
  void zero_grad();
  // PyTorch's zero_grad(set_to_none=True): the gradients count as zero and the next backward
  // assigns them rather than adding to them, which spares a pass writing zeros and the matrix
  // product's read of them. Until that backward a released gradient may hold stale values, so
  // read none before it. Layers with no cheaper way zero their gradients (this default).
  virtual void release_grad() { zero_grad(); }

 private:
  bool training_ = true;
};

// The generic Jacobian: forward once, then one backward per output unit with a one-hot dy, on an
// evaluation-mode clone of the layer.
template <typename Scalar>
Matrix<Scalar> jacobian_by_vjp(const Layer<Scalar>& layer, ConstMatrixRef<Scalar> x_sample);

}  // namespace gradscope
