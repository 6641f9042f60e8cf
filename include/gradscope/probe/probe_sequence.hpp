// One forward/backward pass of a recurrent model on one batch of sequences with the time-step
// probe attached: ||dL/dh_t|| for every step t of every layer, what `gradscope probe` prints
// for recurrent models.
#pragma once

#include <vector>

#include "gradscope/model/recurrent_model.hpp"
#include "gradscope/nn/loss.hpp"
#include "gradscope/probe/step_record.hpp"
#include "gradscope/tasks/sequence_task.hpp"

namespace gradscope {

struct SequenceProbeResult {
  double loss = 0.0;
  std::vector<TimeStepRecord> layers;  // one curve set per recurrent layer, input side first
};

// Parameter gradients are zeroed first and left holding this batch's gradients.
template <typename Scalar>
SequenceProbeResult probe_sequence(RecurrentModel<Scalar>& model,
                                   const SequenceBatch<Scalar>& batch, const Loss<Scalar>& loss);

}  // namespace gradscope
