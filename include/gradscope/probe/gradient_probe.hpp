// The gradient probe: a BackwardObserver that measures every layer during a backward pass.
//
// Attach it to Network::backward (or Sequential::backward) on the steps you want measured; with
// nothing attached a step pays nothing. Per layer (see LayerRecord): ||dL/dh_l|| per sample and
// for the batch, weight and weight-gradient norms, distance from initialisation, saturated and
// dead units, non-finite values; given the optimiser's update norms (Optimizer::step), the update
// ratio too. The layers themselves know nothing of it.
#pragma once

#include <vector>

#include "gradscope/nn/backward_observer.hpp"
#include "gradscope/nn/sequential.hpp"
#include "gradscope/probe/layer_grouping.hpp"
#include "gradscope/probe/layer_record.hpp"

namespace gradscope {

template <typename Scalar>
class GradientProbe final : public BackwardObserver<Scalar> {
 public:
  // Remembers W_l(0) of every layer now, for the distance from initialisation. The probe keeps
  // pointers into `body`'s layers: it must not outlive them.
  explicit GradientProbe(Sequential<Scalar>& body);
  // Copies hold pointers into the same body.

  void after_layer_backward(const LayerGradientEvent<Scalar>& event) override;

  // After an optimiser step on `params` (the network's, in its order) that reported
  // `update_norms`: update ratio ||W_l new - W_l old|| / ||W_l old||, with ||W_l old|| the
  // weight norm this probe measured during the backward pass, before the step.
  void record_updates(const std::vector<Param<Scalar>>& params,
                      const std::vector<double>& update_norms);

  // The records of the last observed backward pass, input side first.
  const std::vector<LayerRecord>& records() const { return records_; }
  const std::vector<LayerGroup>& groups() const { return groups_; }
  // records().front().grad_norm / records().back().grad_norm
  double ratio_first_last() const;

 private:
  struct Weights {
    Param<Scalar> weight{};             // "weight", or the layer's first parameter
    std::vector<Param<Scalar>> others;  // biases, ...
    Matrix<Scalar> initial;             // W_l(0)
    double initial_norm = 0.0;
  };

  std::vector<LayerGroup> groups_;
  std::vector<Index> group_of_child_;
  std::vector<Weights> weights_;  // per layer; weight.value is null for parameter-free layers
  std::vector<LayerRecord> records_;
  Matrix<Scalar> skip_;  // scratch: a residual block's skip-path gradient
};

}  // namespace gradscope
