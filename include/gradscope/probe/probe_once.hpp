// One forward/backward pass on one batch with the gradient probe attached: the profile of
// ||dL/dh_l|| over the layers that `gradscope probe` prints.
#pragma once

#include <vector>

#include "gradscope/nn/loss.hpp"
#include "gradscope/nn/network.hpp"
#include "gradscope/probe/layer_record.hpp"

namespace gradscope {

struct ProbeResult {
  double loss = 0.0;
  std::vector<LayerRecord> layers;  // input side first
  double ratio_first_last = 1.0;    // layers.front().grad_norm / layers.back().grad_norm
};

// Parameter gradients are zeroed first and left holding this batch's gradients.
template <typename Scalar>
ProbeResult probe_once(Network<Scalar>& network, ConstMatrixRef<Scalar> x,
                       const Targets<Scalar>& targets, const Loss<Scalar>& loss);

}  // namespace gradscope
