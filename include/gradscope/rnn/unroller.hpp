// Unroller: runs a RecurrentStack over a sequence, with full or truncated backpropagation through
// time (BPTT), and reports every time step of the backward pass to an observer.
//
// Shapes: x (I, T B) time-major (columns [t B, (t+1) B) are step t); top outputs Y (H, T B);
// dY (H, T B) = dL/dY, zero at steps where no loss is taken. The head and the loss stay outside:
// the caller computes dY from Y.
//
// One mechanism for both. The sequence is split into consecutive windows of K steps (the last one
// may be shorter); K = 0 or K >= T gives one window, which IS full BPTT (same code path, same
// bits). forward runs window after window, carrying every layer's state (h, c) across the
// windows' edges; backward runs each window's VJP with the state entering the window treated as a
// constant, so the gradient is cut at every edge. With s_w the (detached) state entering window w
// and l_t the loss term at step t, the gradient computed is exactly
//
//     g = sum over windows w of  d/d(theta) [ sum_{t in w} l_t( Y_t(theta, x_w; s_w) ) ],
//
// the gradient of the loss terms inside each window with respect to the parameters used inside
// that window, accumulated over the windows (one optimiser step per batch of sequences, as
// PyTorch's "hidden = hidden.detach()" between chunks of one sequence would give when the chunk
// losses are summed before one step). For the inputs: dL/dx_t is that of x_t's own window only;
// for the initial states: the gradient of window 0's terms (all terms under full BPTT).
//
// Parameter gradients ACCUMULATE (call stack.zero_grad() between batches); input and
// initial-state gradients are assigned. Buffers are reused from call to call: after the first
// call with a given (T, B, K) no time step allocates (only the whole-window matrix products,
// a few times per window, through Eigen's packing buffers).
#pragma once

#include <vector>

#include "gradscope/rnn/recurrent_stack.hpp"
#include "gradscope/rnn/time_step_observer.hpp"

namespace gradscope {

template <typename Scalar>
class Unroller {
 public:
  using Mat = Matrix<Scalar>;
  using ConstRef = ConstMatrixRef<Scalar>;

  // Keeps a pointer to `stack`, which must outlive the unroller. window = K (0: full BPTT).
  explicit Unroller(RecurrentStack<Scalar>& stack, Index window = 0);

  void set_window(Index window);
  Index window() const { return window_; }

  // x (I, T B); zero initial states, or one state per layer (final_states() of the previous
  // forward continues a long sequence). Returns the top layer's outputs (H, T B), valid until
  // the next forward.
  ConstRef forward(ConstRef x, Index batch);
  ConstRef forward(ConstRef x, Index batch, const std::vector<RecurrentState<Scalar>>& initial);
  ConstRef output() const;
  // Every layer's state after the last step (to carry into the next batch of a long sequence).
  const std::vector<RecurrentState<Scalar>>& final_states() const { return states_; }

  // dy_top = dL/dY (H, T B) for the last forward. Accumulates parameter gradients, calls
  // observer->after_time_step for every step of every layer (observer may be null), and returns
  // dL/dx (I, T B).
  const Mat& backward(ConstRef dy_top, TimeStepObserver<Scalar>* observer = nullptr);
  const Mat& input_gradient() const { return dx_; }
  // dL/d(initial state) per layer, from window 0 (see the objective above).
  const std::vector<RecurrentState<Scalar>>& initial_state_gradients() const { return dinitial_; }

  Index steps() const { return steps_; }
  Index batch() const { return batch_; }
  Index window_count() const { return windows_; }
  Index window_start(Index w) const { return w * window_steps_; }
  Index window_length(Index w) const;

  struct Location {
    Index window;
    Index local_step;
  };
  // Which window holds global step t, and where in it.
  Location locate(Index t) const;
  const RecurrentRecord<Scalar>& record(Index layer, Index window) const;
  // J_t of layer `layer` at global step t for one sample (RecurrentLayer::step_jacobian).
  Mat step_jacobian(Index layer, Index t, Index sample) const;

 private:
  // forward with states_ already holding the initial states.
  ConstRef run_forward(ConstRef x, Index batch);

  RecurrentStack<Scalar>* stack_;
  Index window_;
  Index steps_ = 0;
  Index batch_ = 0;
  Index windows_ = 0;
  Index window_steps_ = 0;                                     // K, or T for one window
  Mat x_;                                                      // (I, T B) the last forward's input
  std::vector<std::vector<RecurrentRecord<Scalar>>> records_;  // [layer][window]
  std::vector<RecurrentState<Scalar>> states_;                 // carried, then final, per layer
  Mat output_;                                                 // (H, T B) if more than one window
  std::vector<RecurrentGradients<Scalar>> grads_;              // per layer, reused across windows
  std::vector<Mat> doutput_;  // per layer below the top: dL/dy of the current window (H_k, >= K B)
  std::vector<RecurrentState<Scalar>> dinitial_;
  Mat dx_;     // (I, T B)
  Mat empty_;  // the dc view of cells without a cell state
};

}  // namespace gradscope
