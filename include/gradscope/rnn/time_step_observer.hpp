// The hook through which the unroller reports what flowed backward through each time step.
//
// During Unroller::backward, as a layer's backward over a window finishes each chunk of steps
// (RecurrentLayer::ChunkDone), the unroller calls after_time_step once per step of the chunk,
// going backward in time (each layer sees every step exactly once, in decreasing t; layers are
// interleaved window by window, top layer first). dh and dc are final then; the layer's weight
// gradients are not (the chunk's share is added after the call). Everything in the event is a
// read-only view valid only during the call: an observer copies what it keeps. The layers know
// nothing of observers; with none attached nothing extra is done.
#pragma once

#include <optional>

#include "gradscope/rnn/recurrent_layer.hpp"

namespace gradscope {

template <typename Scalar>
struct TimeStepGradientEvent {
  Index layer;       // position in the stack, 0 = next to the input
  Index step;        // GLOBAL step t of the sequence (window start + local step)
  Index window;      // truncation window holding step t (0 under full BPTT)
  Index local_step;  // t within the window's record
  const RecurrentLayer<Scalar>& cell;
  const RecurrentRecord<Scalar>& record;  // the window's forward record
  // (H, B) TOTAL dL/dh_t: from the output y_t and from step t+1 (under truncated BPTT, at the
  // last step of a window only the output's part: the gradient is cut at the window's edge).
  ConstMatrixRef<Scalar> dh;
  // (H, B) TOTAL dL/dc_t for the LSTM; an empty (0 x 0) view for the other cells.
  ConstMatrixRef<Scalar> dc;

  // (H, B) the hidden state h_t itself.
  ConstMatrixRef<Scalar> h() const { return record.h(local_step); }
  // See RecurrentLayer: RNN mean phi'(z_t), LSTM mean tanh'(c_t), GRU mean tanh'(a_n).
  double mean_activation_derivative() const {
    return cell.mean_activation_derivative(record, local_step);
  }
  // LSTM mean f_t, GRU mean z_t, RNN none.
  std::optional<double> mean_keep_gate() const { return cell.mean_keep_gate(record, local_step); }
  // J_t at one sample (see RecurrentLayer::step_jacobian).
  Matrix<Scalar> step_jacobian(Index sample) const {
    return cell.step_jacobian(record, local_step, sample);
  }
};

template <typename Scalar>
class TimeStepObserver {
 public:
  virtual ~TimeStepObserver() = default;
  virtual void after_time_step(const TimeStepGradientEvent<Scalar>& event) = 0;
};

}  // namespace gradscope
