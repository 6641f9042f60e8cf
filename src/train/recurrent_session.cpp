#include "gradscope/train/recurrent_session.hpp"

#include <fmt/format.h>

#include <numeric>

#include "gradscope/analysis/layer_jacobians.hpp"
#include "gradscope/core/norms.hpp"
#include "gradscope/nn/cross_entropy_loss.hpp"

namespace gradscope {

namespace {

// Sequences [first, first + count) of a time-major batch, as a batch of their own.
template <typename Scalar>
void slice_sequences(const SequenceBatch<Scalar>& all, TargetTiming timing, Index first,
                     Index count, SequenceBatch<Scalar>& part) {
  const Index total = all.size();
  const Index steps = all.steps;
  part.steps = steps;
  part.x.resize(all.x.rows(), steps * count);
  for (Index t = 0; t < steps; ++t) {
    part.x.middleCols(t * count, count) = all.x.middleCols(t * total + first, count);
  }
  part.targets.values.resize(0, 0);
  part.targets.labels.clear();
  if (all.targets.values.size() > 0) {
    part.targets.values = all.targets.values.middleCols(first, count);
  }
  if (!all.targets.labels.empty()) {
    if (timing == TargetTiming::kLastStep) {
      const auto begin = all.targets.labels.begin() + first;
      part.targets.labels.assign(begin, begin + count);
    } else {
      for (Index t = 0; t < steps; ++t) {
        const auto begin = all.targets.labels.begin() + t * total + first;
        part.targets.labels.insert(part.targets.labels.end(), begin, begin + count);
      }
    }
  }
}

}  // namespace

template <typename Scalar>
RecurrentSession<Scalar>::RecurrentSession(RecurrentModel<Scalar>& model,
                                           SequenceTask<Scalar>& task)
    : model_(model), task_(task), loss_(make_loss<Scalar>(task.loss())) {
  RecurrentStack<Scalar>& stack = model.stack();
  for (Index k = 0; k < stack.size(); ++k) {
    for (const Param<Scalar>& p : stack.layer(k).params()) {
      if (p.name == "weight_hh") {
        weight_probe_.track(static_cast<int>(k) + 1, fmt::format("rnn.weight_hh_l{}", k),
                            std::string(stack.layer(k).kind()), p);
      }
    }
  }
  weight_probe_.track(static_cast<int>(stack.size()) + 1, "head.weight", "dense",
                      model.head().params().front());
}

template <typename Scalar>
double RecurrentSession<Scalar>::compute_gradients(long batch_size, bool observe) {
  task_.next_batch(batch_size, batch_);
  model_.zero_grad();
  const Matrix<Scalar>& output = model_.forward(batch_.x, batch_.size());
  doutput_.resize(output.rows(), output.cols());
  const double loss = loss_->evaluate(output, batch_.targets, doutput_);
  if (observe) {
    time_probe_.reset(model_.stack().size(), batch_.steps);
    output_grad_norm_ = mean_column_norm<Scalar>(doutput_);
  }
  model_.backward(doutput_, observe ? &time_probe_ : nullptr);
  if (observe) weight_probe_.measure();
  return loss;
}

template <typename Scalar>
void RecurrentSession<Scalar>::collect_probes(const std::vector<Param<Scalar>>& params,
                                              const std::vector<double>& update_norms,
                                              StepRecord& record) {
  if (!update_norms.empty()) weight_probe_.record_updates(params, update_norms);
  record.layers = weight_probe_.records();
  record.time_steps = time_probe_.records();
  for (std::size_t k = 0; k < record.time_steps.size(); ++k) {
    const std::vector<double>& curve = record.time_steps[k].grad_norm;
    const double mean = curve.empty() ? 0.0
                                      : std::accumulate(curve.begin(), curve.end(), 0.0) /
                                            static_cast<double>(curve.size());
    record.layers[k].grad_norm = mean;
    record.layers[k].grad_norm_batch = mean;
    record.layers[k].nonfinite = record.layers[k].nonfinite || !std::isfinite(mean);
  }
  record.layers.back().grad_norm = output_grad_norm_;
  record.layers.back().grad_norm_batch = output_grad_norm_;
}

template <typename Scalar>
void RecurrentSession<Scalar>::collect_spectra(StepRecord& record) {
  for (Index k = 0; k < model_.stack().size(); ++k) {
    const StepSpectrumMeans means = mean_step_spectrum<Scalar>(model_.unroller(), k, 0);
    if (means.steps == 0) continue;
    LayerRecord& layer = record.layers.at(static_cast<std::size_t>(k));
    layer.jacobian_spectral_radius = means.spectral_radius;
    layer.jacobian_spectral_norm = means.spectral_norm;
  }
}

template <typename Scalar>
EvalRecord RecurrentSession<Scalar>::evaluate() {
  return gradscope::evaluate(model_, task_);
}

template <typename Scalar>
std::string RecurrentSession<Scalar>::describe_parameter(const std::string& name) const {
  const std::size_t at = name.rfind("_l");
  if (name.rfind("rnn.", 0) == 0 && at != std::string::npos) {
    try {
      return fmt::format("recurrent layer {} ({})", std::stol(name.substr(at + 2)) + 1, name);
    } catch (const std::exception&) {
      return name;
    }
  }
  return fmt::format("the head ({})", name);
}

template <typename Scalar>
EvalRecord evaluate(RecurrentModel<Scalar>& model, const SequenceTask<Scalar>& task) {
  const SequenceBatch<Scalar>& test = task.test_set();
  const std::unique_ptr<Loss<Scalar>> loss = make_loss<Scalar>(task.loss());
  const TargetTiming timing = task.target_timing();
  constexpr Index kChunk = 500;
  double loss_sum = 0.0;
  double weight_sum = 0.0;
  long correct = 0;
  long labelled = 0;
  SequenceBatch<Scalar> part;
  Matrix<Scalar> scratch;
  for (Index first = 0; first < test.size(); first += kChunk) {
    const Index count = std::min(kChunk, test.size() - first);
    slice_sequences(test, timing, first, count, part);
    const Matrix<Scalar>& out = model.forward(part.x, count);
    scratch.resize(out.rows(), out.cols());
    const double chunk_loss = loss->evaluate(out, part.targets, scratch);
    if (task.is_classification()) {
      const std::vector<int> predicted = argmax_per_column<Scalar>(out);
      long chunk_labelled = 0;
      for (std::size_t j = 0; j < predicted.size(); ++j) {
        const int label = part.targets.labels[j];
        if (label < 0) continue;
        ++chunk_labelled;
        correct += predicted[j] == label;
      }
      labelled += chunk_labelled;
      loss_sum += chunk_loss * static_cast<double>(chunk_labelled);
      weight_sum += static_cast<double>(chunk_labelled);
    } else {
      loss_sum += chunk_loss * static_cast<double>(count);
      weight_sum += static_cast<double>(count);
    }
  }
  EvalRecord record;
  record.loss = weight_sum > 0 ? loss_sum / weight_sum : 0.0;
  if (task.is_classification() && labelled > 0) {
    record.accuracy = static_cast<double>(correct) / static_cast<double>(labelled);
  }
  return record;
}

template class RecurrentSession<float>;
template class RecurrentSession<double>;
template EvalRecord evaluate<float>(RecurrentModel<float>&, const SequenceTask<float>&);
template EvalRecord evaluate<double>(RecurrentModel<double>&, const SequenceTask<double>&);

}  // namespace gradscope
