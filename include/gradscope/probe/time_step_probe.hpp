// The time-step probe: a TimeStepObserver that records, for every layer of a recurrent stack and
// every step t of the sequence, ||dL/dh_t|| (and ||dL/dc_t|| for the LSTM), the mean activation
// derivative and the mean keep gate — the article's "gradients propagated more than a few dozen
// steps back in time are essentially zero", as a curve. The unroller calls it; the cells know
// nothing of it.
#pragma once

#include <vector>

#include "gradscope/probe/step_record.hpp"
#include "gradscope/rnn/time_step_observer.hpp"

namespace gradscope {

template <typename Scalar>
class TimeStepProbe final : public TimeStepObserver<Scalar> {
 public:
  void after_time_step(const TimeStepGradientEvent<Scalar>& event) override;

  // Starts a new backward pass of `layers` layers over `steps` steps (clears the curves).
  void reset(Index layers, Index steps);
  // One record per layer, input side first; each curve has one entry per step, t = 0 first.
  const std::vector<TimeStepRecord>& records() const { return records_; }

 private:
  std::vector<TimeStepRecord> records_;
};

}  // namespace gradscope
