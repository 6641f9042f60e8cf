// The training session of a RecurrentModel on a SequenceTask: sequence batches, the task's loss
// (at the last step, or at every labelled step), truncated BPTT as the model's spec says, and on
// observed steps the time-step probe (||dL/dh_t|| for every t and layer) and the weight probe.
//
// Layer records of a recurrent model: one per recurrent layer (index k + 1, following
// rnn.weight_hh_l{k}) and one for the head (head.weight); their grad_norm is the per-step
// ||dL/dh_t|| of that layer averaged over the steps (the head's: ||dL/d(output)||). The curves
// over time are in StepRecord::time_steps.
#pragma once

#include <memory>

#include "gradscope/model/recurrent_model.hpp"
#include "gradscope/nn/loss.hpp"
#include "gradscope/probe/time_step_probe.hpp"
#include "gradscope/probe/weight_probe.hpp"
#include "gradscope/tasks/sequence_task.hpp"
#include "gradscope/train/training_session.hpp"

namespace gradscope {

template <typename Scalar>
class RecurrentSession final : public TrainingSession<Scalar> {
 public:
  // Keeps references: `model` and `task` must outlive the session.
  RecurrentSession(RecurrentModel<Scalar>& model, SequenceTask<Scalar>& task);

  std::vector<Param<Scalar>> params() override { return model_.params(); }
  double compute_gradients(long batch_size, bool observe) override;
  void collect_probes(const std::vector<Param<Scalar>>& params,
                      const std::vector<double>& update_norms, StepRecord& record) override;
  void collect_spectra(StepRecord& record) override;
  EvalRecord evaluate() override;
  std::vector<LayerRecord> layer_records() const override { return weight_probe_.records(); }
  std::string describe_parameter(const std::string& name) const override;

  // The curves of the last observed backward pass.
  const std::vector<TimeStepRecord>& time_steps() const { return time_probe_.records(); }

 private:
  RecurrentModel<Scalar>& model_;
  SequenceTask<Scalar>& task_;
  std::unique_ptr<Loss<Scalar>> loss_;
  TimeStepProbe<Scalar> time_probe_;
  WeightProbe<Scalar> weight_probe_;
  SequenceBatch<Scalar> batch_;
  Matrix<Scalar> doutput_;
  double output_grad_norm_ = 0.0;
};

// Loss (and accuracy for classification) of `model` on the task's test set, in chunks of
// sequences.
template <typename Scalar>
EvalRecord evaluate(RecurrentModel<Scalar>& model, const SequenceTask<Scalar>& task);

}  // namespace gradscope
