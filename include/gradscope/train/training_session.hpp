// What the training loop needs from a model and its task. The loop itself (train() in
// trainer.hpp) is the same for feed-forward and recurrent models; a session supplies the batches,
// the forward/backward pass with its probes, and the evaluation.
#pragma once

#include <string>
#include <vector>

#include "gradscope/nn/layer.hpp"
#include "gradscope/probe/step_record.hpp"

namespace gradscope {

template <typename Scalar>
class TrainingSession {
 public:
  virtual ~TrainingSession() = default;

  // The parameters the optimiser updates, always in the same order.
  virtual std::vector<Param<Scalar>> params() = 0;
  // Draws the next training batch of `batch_size`, zeroes the gradients, runs forward, the loss
  // and backward; `observe` attaches the probes to the backward pass. Returns the batch's loss.
  virtual double compute_gradients(long batch_size, bool observe) = 0;
  // After an observed step: the probes' records into `record` (per layer, and per time step for
  // recurrent models), with update ratios from the optimiser's `update_norms` (empty when the
  // update was skipped).
  virtual void collect_probes(const std::vector<Param<Scalar>>& params,
                              const std::vector<double>& update_norms, StepRecord& record) = 0;
  // After collect_probes on a step that measures spectra: each layer record's Jacobian spectral
  // radius and norm, at the first sample of the step's batch, with the current weights.
  virtual void collect_spectra(StepRecord& record) = 0;
  // Loss, and accuracy for classification, on the task's test set.
  virtual EvalRecord evaluate() = 0;
  // The model's layers as the probes see them (index, name, kind, activation), for log headers.
  virtual std::vector<LayerRecord> layer_records() const = 0;
  // A parameter's name as a user reads it in an error message: "layer 3 (4.weight)".
  virtual std::string describe_parameter(const std::string& name) const = 0;
};

}  // namespace gradscope
