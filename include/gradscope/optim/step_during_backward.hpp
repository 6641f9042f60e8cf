// Optimizer-in-backward: each child layer's parameters are updated as soon as the backward pass
// has left the child, while their gradients are still in cache, instead of in one pass over all
// of them after the backward. The weights a child's backward reads (for dx) are not read again
// once it returns, so the parameters end up exactly as after optimizer.step().
// Not for updates that need the whole gradient first, such as clipping by the global norm.
//
//   StepDuringBackward<float> stepper(network.body(), optimizer);
//   stepper.begin();
//   network.backward(dy, &stepper);
//   stepper.finish();
#pragma once

#include <vector>

#include "gradscope/nn/backward_observer.hpp"
#include "gradscope/nn/sequential.hpp"
#include "gradscope/optim/optimizer.hpp"

namespace gradscope {

template <typename Scalar>
class StepDuringBackward final : public BackwardObserver<Scalar> {
 public:
  // `first` (may be null) sees every event before the update: gradients final, weights not yet
  // changed. body, optimizer and first must outlive this object.
  StepDuringBackward(Sequential<Scalar>& body, Optimizer<Scalar>& optimizer,
                     BackwardObserver<Scalar>* first = nullptr);

  // Before each backward. `update_norms` as in Optimizer::step; it must live until finish().
  void begin(std::vector<double>* update_norms = nullptr);
  void after_layer_backward(const LayerGradientEvent<Scalar>& event) override;
  // After the backward: throws if a child's parameters were not updated (no backward reached it).
  void finish();

  // body.params(), in the optimiser's order.
  const std::vector<Param<Scalar>>& params() const { return params_; }

 private:
  Sequential<Scalar>& body_;
  Optimizer<Scalar>& optimizer_;
  BackwardObserver<Scalar>* first_;
  std::vector<Param<Scalar>> params_;
  std::vector<std::size_t> first_param_;  // per child, its first position in params_; + the end
  std::vector<bool> stepped_;             // per child, in this step
  std::vector<double>* update_norms_ = nullptr;
};

}  // namespace gradscope
