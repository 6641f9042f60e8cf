// The hook through which containers report what flowed backward through each child layer.
//
// Containers (Sequential, and later residual blocks and unrollers) call after_layer_backward once
// per child, right after the child's backward, output side first. Everything in the event is a
// read-only view valid only during the call: an observer copies what it keeps. With no observer
// attached the container does no extra work at all.
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
};

template <typename Scalar>
class BackwardObserver {
 public:
  virtual ~BackwardObserver() = default;
  virtual void after_layer_backward(const LayerGradientEvent<Scalar>& event) = 0;
};

}  // namespace gradscope
