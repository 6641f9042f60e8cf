#include "gradscope/probe/time_step_probe.hpp"

#include "gradscope/core/error.hpp"
#include "gradscope/core/norms.hpp"

namespace gradscope {

template <typename Scalar>
void TimeStepProbe<Scalar>::reset(Index layers, Index steps) {
  records_.assign(static_cast<std::size_t>(layers), TimeStepRecord{});
  for (std::size_t k = 0; k < records_.size(); ++k) {
    records_[k].layer = static_cast<int>(k);
    records_[k].grad_norm.assign(static_cast<std::size_t>(steps), 0.0);
    records_[k].activation_derivative.assign(static_cast<std::size_t>(steps), 0.0);
  }
}

template <typename Scalar>
void TimeStepProbe<Scalar>::after_time_step(const TimeStepGradientEvent<Scalar>& event) {
  GRADSCOPE_CHECK(event.layer >= 0 && event.layer < static_cast<Index>(records_.size()),
                  "time-step probe: layer {} outside the {} it was reset for", event.layer,
                  records_.size());
  TimeStepRecord& record = records_[static_cast<std::size_t>(event.layer)];
  const std::size_t steps = record.grad_norm.size();
  const auto t = static_cast<std::size_t>(event.step);
  GRADSCOPE_CHECK(t < steps, "time-step probe: step {} outside the {} it was reset for", t, steps);
  record.grad_norm[t] = mean_column_norm<Scalar>(event.dh);
  record.activation_derivative[t] = event.mean_activation_derivative();
  if (event.dc.size() > 0) {
    record.cell_grad_norm.resize(steps, 0.0);
    record.cell_grad_norm[t] = mean_column_norm<Scalar>(event.dc);
  }
  if (const std::optional<double> keep = event.mean_keep_gate()) {
    record.keep_gate.resize(steps, 0.0);
    record.keep_gate[t] = *keep;
  }
}

template class TimeStepProbe<float>;
template class TimeStepProbe<double>;

}  // namespace gradscope
