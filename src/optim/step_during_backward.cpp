#include "gradscope/optim/step_during_backward.hpp"

#include "gradscope/core/error.hpp"

namespace gradscope {

template <typename Scalar>
StepDuringBackward<Scalar>::StepDuringBackward(Sequential<Scalar>& body,
                                               Optimizer<Scalar>& optimizer,
                                               BackwardObserver<Scalar>* first)
    : body_(body), optimizer_(optimizer), first_(first), params_(body.params()) {
  // Sequential lists its children's parameters child by child, in order.
  std::size_t position = 0;
  for (Index c = 0; c < body.size(); ++c) {
    first_param_.push_back(position);
    position += body.layer(c).params().size();
  }
  first_param_.push_back(position);
  GRADSCOPE_CHECK(position == params_.size(), "step during backward: {} parameters, {} by child",
                  params_.size(), position);
  stepped_.assign(static_cast<std::size_t>(body.size()), false);
}

template <typename Scalar>
void StepDuringBackward<Scalar>::begin(std::vector<double>* update_norms) {
  update_norms_ = update_norms;
  optimizer_.begin_step(params_, update_norms_);
  stepped_.assign(stepped_.size(), false);
}

template <typename Scalar>
void StepDuringBackward<Scalar>::after_layer_backward(const LayerGradientEvent<Scalar>& event) {
  if (first_ != nullptr) first_->after_layer_backward(event);
  if (event.depth != 0) return;  // a nested child: its container is updated as a whole
  GRADSCOPE_CHECK(event.parent == &body_, "step during backward: an event from another container");
  const auto child = static_cast<std::size_t>(event.index);
  for (std::size_t i = first_param_[child]; i < first_param_[child + 1]; ++i) {
    optimizer_.update(params_, i, update_norms_);
  }
  stepped_[child] = true;
}

template <typename Scalar>
void StepDuringBackward<Scalar>::finish() {
  for (std::size_t c = 0; c < stepped_.size(); ++c) {
    GRADSCOPE_CHECK(stepped_[c] || first_param_[c] == first_param_[c + 1],
                    "step during backward: child {} was not updated (did its backward run?)", c);
  }
}

template class StepDuringBackward<float>;
template class StepDuringBackward<double>;

}  // namespace gradscope
