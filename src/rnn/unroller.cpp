#include "gradscope/rnn/unroller.hpp"

#include <algorithm>

#include "gradscope/core/error.hpp"

namespace gradscope {

template <typename Scalar>
Unroller<Scalar>::Unroller(RecurrentStack<Scalar>& stack, Index window)
    : stack_(&stack), window_(0) {
  set_window(window);
}

template <typename Scalar>
void Unroller<Scalar>::set_window(Index window) {
  if (window < 0)
    throw_bad_input("truncated BPTT window must be >= 0 (0: full BPTT), got {}", window);
  window_ = window;
}

template <typename Scalar>
Index Unroller<Scalar>::window_length(Index w) const {
  GRADSCOPE_CHECK(w >= 0 && w < windows_, "unroller: window {} outside 0..{}", w, windows_ - 1);
  return std::min(window_steps_, steps_ - w * window_steps_);
}

template <typename Scalar>
typename Unroller<Scalar>::Location Unroller<Scalar>::locate(Index t) const {
  GRADSCOPE_CHECK(t >= 0 && t < steps_, "unroller: step {} outside 0..{}", t, steps_ - 1);
  return {t / window_steps_, t % window_steps_};
}

template <typename Scalar>
const RecurrentRecord<Scalar>& Unroller<Scalar>::record(Index layer, Index window) const {
  GRADSCOPE_CHECK(
      layer >= 0 && layer < static_cast<Index>(records_.size()) && window >= 0 && window < windows_,
      "unroller: no record for layer {} window {}", layer, window);
  return records_[static_cast<std::size_t>(layer)][static_cast<std::size_t>(window)];
}

template <typename Scalar>
typename Unroller<Scalar>::Mat Unroller<Scalar>::step_jacobian(Index layer, Index t,
                                                               Index sample) const {
  const Location at = locate(t);
  return stack_->layer(layer).step_jacobian(record(layer, at.window), at.local_step, sample);
}

template <typename Scalar>
typename Unroller<Scalar>::ConstRef Unroller<Scalar>::forward(ConstRef x, Index batch) {
  // Zeros written in place: no state vector is built per call.
  const Index layers = stack_->size();
  states_.resize(static_cast<std::size_t>(layers));
  for (Index k = 0; k < layers; ++k) {
    const RecurrentLayer<Scalar>& layer = stack_->layer(k);
    RecurrentState<Scalar>& state = states_[static_cast<std::size_t>(k)];
    state.h.setZero(layer.hidden_size(), batch);
    state.c.setZero(layer.has_cell_state() ? layer.hidden_size() : 0,
                    layer.has_cell_state() ? batch : 0);
  }
  return run_forward(x, batch);
}

template <typename Scalar>
typename Unroller<Scalar>::ConstRef Unroller<Scalar>::forward(
    ConstRef x, Index batch, const std::vector<RecurrentState<Scalar>>& initial) {
  GRADSCOPE_CHECK(static_cast<Index>(initial.size()) == stack_->size(),
                  "unroller: {} initial states for {} layers", initial.size(), stack_->size());
  if (&initial != &states_) {  // carrying final_states() into the next batch needs no copy
    states_.resize(initial.size());
    for (std::size_t k = 0; k < states_.size(); ++k) {
      states_[k].h = initial[k].h;
      states_[k].c = initial[k].c;
    }
  }
  return run_forward(x, batch);
}

template <typename Scalar>
typename Unroller<Scalar>::ConstRef Unroller<Scalar>::run_forward(ConstRef x, Index batch) {
  RecurrentStack<Scalar>& stack = *stack_;
  const Index layers = stack.size();
  GRADSCOPE_CHECK(layers >= 1, "unroller: the stack has no layers");
  GRADSCOPE_CHECK(
      batch >= 1 && x.rows() == stack.input_size() && x.cols() >= batch && x.cols() % batch == 0,
      "unroller: x must be ({}, T * {}) with T >= 1, got ({}, {})", stack.input_size(), batch,
      x.rows(), x.cols());
  steps_ = x.cols() / batch;
  batch_ = batch;
  window_steps_ = (window_ == 0 || window_ >= steps_) ? steps_ : window_;
  windows_ = (steps_ + window_steps_ - 1) / window_steps_;
  x_ = x;
  records_.resize(static_cast<std::size_t>(layers));
  for (auto& layer_records : records_) layer_records.resize(static_cast<std::size_t>(windows_));

  // Window after window, the state carried forward by value (its gradient is cut in backward).
  for (Index w = 0; w < windows_; ++w) {
    const Index col = window_start(w) * batch;
    const Index cols = window_length(w) * batch;
    for (Index k = 0; k < layers; ++k) {
      const auto uk = static_cast<std::size_t>(k);
      const ConstRef input = k == 0 ? ConstRef(x_.middleCols(col, cols))
                                    : records_[uk - 1][static_cast<std::size_t>(w)].output();
      stack.layer(k).forward(input, states_[uk], records_[uk][static_cast<std::size_t>(w)],
                             states_[uk]);
    }
  }
  if (windows_ > 1) {
    const auto top = static_cast<std::size_t>(layers - 1);
    output_.resize(stack.output_size(), steps_ * batch);
    for (Index w = 0; w < windows_; ++w) {
      output_.middleCols(window_start(w) * batch, window_length(w) * batch) =
          records_[top][static_cast<std::size_t>(w)].output();
    }
  }
  return output();
}

template <typename Scalar>
typename Unroller<Scalar>::ConstRef Unroller<Scalar>::output() const {
  GRADSCOPE_CHECK(windows_ >= 1, "unroller: output() before forward()");
  if (windows_ > 1) return output_;
  return records_.back().front().output();
}

template <typename Scalar>
const typename Unroller<Scalar>::Mat& Unroller<Scalar>::backward(
    ConstRef dy_top, TimeStepObserver<Scalar>* observer) {
  RecurrentStack<Scalar>& stack = *stack_;
  const Index layers = static_cast<Index>(records_.size());
  GRADSCOPE_CHECK(windows_ >= 1 && layers == stack.size(),
                  "unroller: backward() needs a forward() of this stack first");
  GRADSCOPE_CHECK(dy_top.rows() == stack.output_size() && dy_top.cols() == steps_ * batch_,
                  "unroller: dY must be ({}, {}), got ({}, {})", stack.output_size(),
                  steps_ * batch_, dy_top.rows(), dy_top.cols());
  grads_.resize(static_cast<std::size_t>(layers));
  doutput_.resize(static_cast<std::size_t>(layers));
  dinitial_.resize(static_cast<std::size_t>(layers));
  for (Index k = 0; k + 1 < layers; ++k) {
    Mat& buffer = doutput_[static_cast<std::size_t>(k)];
    const Index rows = stack.layer(k).hidden_size();
    if (buffer.rows() != rows || buffer.cols() < window_steps_ * batch_) {
      buffer.resize(rows, window_steps_ * batch_);
    }
  }
  dx_.resize(stack.input_size(), steps_ * batch_);

  // Windows in any order give the same sum (they do not exchange gradients); last first, so that
  // every layer's events come in decreasing global t.
  for (Index w = windows_ - 1; w >= 0; --w) {
    const auto uw = static_cast<std::size_t>(w);
    const Index start = window_start(w);
    const Index col = start * batch_;
    const Index cols = window_length(w) * batch_;
    for (Index k = layers - 1; k >= 0; --k) {
      const auto uk = static_cast<std::size_t>(k);
      RecurrentLayer<Scalar>& layer = stack.layer(k);
      const ConstRef input =
          k == 0 ? ConstRef(x_.middleCols(col, cols)) : records_[uk - 1][uw].output();
      const ConstRef dy = k + 1 == layers ? ConstRef(dy_top.middleCols(col, cols))
                                          : ConstRef(doutput_[uk].leftCols(cols));
      MatrixRef<Scalar> dx = k == 0 ? MatrixRef<Scalar>(dx_.middleCols(col, cols))
                                    : MatrixRef<Scalar>(doutput_[uk - 1].leftCols(cols));
      RecurrentGradients<Scalar>& grads = grads_[uk];
      // The observer sees each chunk of steps as soon as its backward is done, while the
      // gradients it reads are still in cache.
      const auto report_steps = [&](Index first, Index last) {
        for (Index s = last - 1; s >= first; --s) {
          observer->after_time_step({k, start + s, w, s, layer, records_[uk][uw], grads.dh_at(s),
                                     layer.has_cell_state() ? grads.dc_at(s) : ConstRef(empty_)});
        }
      };
      // nullptr: nothing arrives from beyond the window's last step (cut, or end of sequence).
      layer.backward(input, records_[uk][uw], dy, nullptr, dx, grads,
                     observer != nullptr ? typename RecurrentLayer<Scalar>::ChunkDone(report_steps)
                                         : typename RecurrentLayer<Scalar>::ChunkDone());
      if (w == 0) {
        dinitial_[uk].h = grads.dinitial.h;
        dinitial_[uk].c = grads.dinitial.c;
      }
    }
  }
  return dx_;
}

template class Unroller<float>;
template class Unroller<double>;

}  // namespace gradscope
