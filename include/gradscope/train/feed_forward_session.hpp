// The training session of a feed-forward Network on a Task: batches from the task, the task's
// loss, and the gradient probe on observed steps.
#pragma once

#include <memory>

#include "gradscope/nn/network.hpp"
#include "gradscope/probe/gradient_probe.hpp"
#include "gradscope/tasks/task.hpp"
#include "gradscope/train/training_session.hpp"

namespace gradscope {

template <typename Scalar>
class FeedForwardSession final : public TrainingSession<Scalar> {
 public:
  // Keeps references: `network` and `task` must outlive the session.
  FeedForwardSession(Network<Scalar>& network, Task<Scalar>& task);

  std::vector<Param<Scalar>> params() override { return network_.params(); }
  double compute_gradients(long batch_size, bool observe) override;
  void collect_probes(const std::vector<Param<Scalar>>& params,
                      const std::vector<double>& update_norms, StepRecord& record) override;
  void collect_spectra(StepRecord& record) override;
  EvalRecord evaluate() override;
  std::vector<LayerRecord> layer_records() const override { return probe_.records(); }
  std::string describe_parameter(const std::string& name) const override;

 private:
  Network<Scalar>& network_;
  Task<Scalar>& task_;
  std::unique_ptr<Loss<Scalar>> loss_;
  GradientProbe<Scalar> probe_;
  Batch<Scalar> batch_;
  Matrix<Scalar> doutput_;
};

// Loss (and accuracy for classification) of `network` on the task's test set, in chunks, in
// evaluation mode (the network's mode is restored afterwards).
template <typename Scalar>
EvalRecord evaluate(Network<Scalar>& network, const Task<Scalar>& task);

}  // namespace gradscope
