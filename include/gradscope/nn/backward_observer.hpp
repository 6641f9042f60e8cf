// The hook through which containers report what flowed backward through each child layer.
//
// Containers (Sequential, Residual, and later unrollers) call after_layer_backward once per
// child, right after the child's backward, output side first. Everything in the event is a
// read-only view valid only during the call: an observer copies what it keeps. With no observer
// attached the container does no extra work at all.
//
// Nesting. A container child (a Residual, or a Sequential inside a Sequential) receives the
// observer too, and reports its own children one level deeper (`depth` + 1) before its container
// reports the child itself. For a Sequential [Dense, tanh, Residual(branch [Dense, tanh])] the
// observer sees, in order (depth, index): (1, 1) the branch's tanh, (1, 0) the branch's Dense,
// (0, 2) the Residual, (0, 1) tanh, (0, 0) Dense. An observer that only understands one level
// skips the events with depth > 0.
#pragma once

#include "gradscope/nn/layer.hpp"

namespace gradscope {

template <typename Scalar>
struct LayerGradientEvent {
  Index index;                 // the child's position in its container, 0-based
  const Layer<Scalar>& layer;  // the child itself (parameters and gradients readable)
  ConstMatrixRef<Scalar> x;    // (in, batch)  the child's input
  ConstMatrixRef<Scalar> y;    // (out, batch) the child's output
  ConstMatrixRef<Scalar> dy;   // (out, batch) dL/dy
  ConstMatrixRef<Scalar> dx;   // (in, batch)  dL/dx
  // 0: a child of the container the observer was handed to; d: a child of a container nested d
  // levels inside it (a Residual's branch is one level below the Residual's own container).
  int depth = 0;
  // The container whose child `layer` is (for a Residual's branch children: the branch).
  const Layer<Scalar>* parent = nullptr;
};

template <typename Scalar>
class BackwardObserver {
 public:
  virtual ~BackwardObserver() = default;
  virtual void after_layer_backward(const LayerGradientEvent<Scalar>& event) = 0;
};

// What a container hands to a nested container: passes every event on to `outer` one level
// deeper.
template <typename Scalar>
class NestedObserver final : public BackwardObserver<Scalar> {
 public:
  explicit NestedObserver(BackwardObserver<Scalar>& outer) : outer_(outer) {}
  void after_layer_backward(const LayerGradientEvent<Scalar>& event) override {
    LayerGradientEvent<Scalar> nested = event;
    nested.depth += 1;
    outer_.after_layer_backward(nested);
  }

 private:
  BackwardObserver<Scalar>& outer_;
};

}  // namespace gradscope
