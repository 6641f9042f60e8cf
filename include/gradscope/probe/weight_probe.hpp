// The weight side of the probe for models whose layers are not a Sequential (recurrent stacks):
// for each tracked weight matrix, ||W||, ||dL/dW||, the distance from its value when tracking
// began, the update ratio and non-finite flags, as LayerRecords.
#pragma once

#include <string>
#include <vector>

#include "gradscope/nn/layer.hpp"
#include "gradscope/probe/layer_record.hpp"

namespace gradscope {

template <typename Scalar>
class WeightProbe {
 public:
  // Follows `weight` (its value and gradient) as layer `index` of the records; remembers its
  // current value as the initial one. The matrices must outlive the probe.
  void track(int index, std::string name, std::string kind, const Param<Scalar>& weight);
  // Measures every tracked weight now (call after backward, before the optimiser step).
  void measure();
  // After an optimiser step on `params` that reported `update_norms` (Optimizer::step).
  void record_updates(const std::vector<Param<Scalar>>& params,
                      const std::vector<double>& update_norms);
  const std::vector<LayerRecord>& records() const { return records_; }

 private:
  struct Tracked {
    Param<Scalar> weight;
    Matrix<Scalar> initial;
    double initial_norm = 0.0;
  };
  std::vector<Tracked> tracked_;
  std::vector<LayerRecord> records_;
};

}  // namespace gradscope
