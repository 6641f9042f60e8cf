// Sequential: layers applied in order, h_i = f_i(h_{i-1}), PyTorch's nn.Sequential.
//
//   forward   h_0 = x, h_i = f_i(h_{i-1}), y = h_n
//   backward  g_n = dy, g_{i-1} = J_i^T g_i, dx = g_0   (each child accumulates its parameters)
//   jacobian  dy/dx = J_n ... J_1 at the sample's intermediate points
//
// Parameter names are the child's position and the child's own name, "0.weight", "2.bias", as
// in PyTorch (activations count as children, so weights sit at even positions in an MLP);
// buffers likewise ("1.running_mean").
//
// set_training() sets the mode of every child. jacobian() is the evaluation-mode Jacobian (on an
// evaluation-mode copy when a child depends on the mode and is in training mode), so it never
// moves a BatchNorm's running averages. backward(..., observer) hands the observer to container
// children (Residual, Sequential) too; see backward_observer.hpp for the order and depth of the
// events.
#pragma once

#include "gradscope/nn/backward_observer.hpp"
#include "gradscope/nn/layer.hpp"

namespace gradscope {

template <typename Scalar>
class Sequential final : public Layer<Scalar> {
 public:
  using typename Layer<Scalar>::Mat;
  using typename Layer<Scalar>::ConstRef;
  using typename Layer<Scalar>::Ref;

  Sequential() = default;
  Sequential(const Sequential& other);
  Sequential& operator=(const Sequential& other);
  Sequential(Sequential&&) noexcept = default;
  Sequential& operator=(Sequential&&) noexcept = default;
  ~Sequential() override = default;

  void add(std::unique_ptr<Layer<Scalar>> layer);
  Index size() const { return static_cast<Index>(layers_.size()); }
  Layer<Scalar>& layer(Index i) { return *layers_.at(static_cast<std::size_t>(i)); }
  const Layer<Scalar>& layer(Index i) const { return *layers_.at(static_cast<std::size_t>(i)); }

  std::string_view kind() const override { return "sequential"; }
  Index output_size(Index input_size) const override;
  // saved.tensors[i] holds h_{i+1} for i < n - 1; saved.children[i] is child i's own record.
  void forward(ConstRef x, Ref y, Saved<Scalar>& saved) const override;
  void backward(ConstRef x, ConstRef y, const Saved<Scalar>& saved, ConstRef dy, Ref dx) override;
  // backward, reporting each child to `observer` (may be null) right after its backward.
  void backward(ConstRef x, ConstRef y, const Saved<Scalar>& saved, ConstRef dy, Ref dx,
                BackwardObserver<Scalar>* observer);
  std::vector<Param<Scalar>> params() override;
  std::vector<Buffer<Scalar>> buffers() override;
  std::unique_ptr<Layer<Scalar>> clone() const override;
  Mat jacobian(ConstRef x_sample) const override;
  void set_training(bool training) override;
  bool depends_on_mode() const override;
  void release_grad() override;

 private:
  // Child k's backward, handing the observer on when the child is itself a container.
  void backward_child(std::size_t k, ConstRef input, ConstRef output, const Saved<Scalar>& saved,
                      ConstRef doutput, Ref dinput, BackwardObserver<Scalar>* observer);

  std::vector<std::unique_ptr<Layer<Scalar>>> layers_;
  Mat gradient_buffers_[2];  // dL/dh between children, reused across calls
};

}  // namespace gradscope
