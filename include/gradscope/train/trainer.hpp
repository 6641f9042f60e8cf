// The training loop: gradients (probed on some steps) -> clip -> optimiser step -> records.
//
// It reports every step and evaluation to a listener and knows nothing about files or terminals:
// the CLI's listener writes the run log and draws the progress bar. The model-specific part
// (batches, forward/backward, probes, evaluation) is a TrainingSession.
#pragma once

#include "gradscope/nn/network.hpp"
#include "gradscope/probe/step_record.hpp"
#include "gradscope/tasks/task.hpp"
#include "gradscope/train/train_config.hpp"
#include "gradscope/train/training_session.hpp"

namespace gradscope {

class TrainListener {
 public:
  virtual ~TrainListener() = default;
  virtual void on_step(const StepRecord& /*record*/) {}
  virtual void on_eval(const EvalRecord& /*record*/) {}
};

struct TrainSummary {
  long steps = 0;           // steps run (including skipped ones)
  long skipped = 0;         // updates skipped for non-finite values
  double final_loss = 0.0;  // training loss of the last step
  EvalRecord final_eval;    // test-set evaluation after the last step
  double seconds = 0.0;     // wall time of the loop
};

// Trains the session's model in place. With NonFinitePolicy::kStop a non-finite loss or gradient
// is reported to the listener and then thrown as an Error naming the step and the layer.
template <typename Scalar>
TrainSummary train(TrainingSession<Scalar>& session, const TrainConfig& config,
                   TrainListener* listener = nullptr);

// The same for a feed-forward network on a task (a FeedForwardSession).
template <typename Scalar>
TrainSummary train(Network<Scalar>& network, Task<Scalar>& task, const TrainConfig& config,
                   TrainListener* listener = nullptr);

}  // namespace gradscope
