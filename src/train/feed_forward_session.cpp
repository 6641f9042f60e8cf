#include "gradscope/train/feed_forward_session.hpp"

#include <fmt/format.h>

#include "gradscope/analysis/layer_jacobians.hpp"
#include "gradscope/analysis/matrix_spectrum.hpp"
#include "gradscope/nn/cross_entropy_loss.hpp"

namespace gradscope {

template <typename Scalar>
FeedForwardSession<Scalar>::FeedForwardSession(Network<Scalar>& network, Task<Scalar>& task)
    : network_(network),
      task_(task),
      loss_(make_loss<Scalar>(task.loss())),
      probe_(network.body()) {}

template <typename Scalar>
double FeedForwardSession<Scalar>::compute_gradients(long batch_size, bool observe) {
  task_.next_batch(batch_size, batch_);
  network_.set_training(true);
  // Every Dense's backward then assigns its gradient: no pass writing zeros before it. Nothing
  // reads a gradient before backward has written it: the probe reads a layer's own gradients
  // after its backward, and each Dense starts its own probe group.
  network_.release_grad();
  const Matrix<Scalar>& output = network_.forward(batch_.x);
  doutput_.resize(output.rows(), output.cols());
  const double loss = loss_->evaluate(output, batch_.targets, doutput_);
  network_.backward(doutput_, observe ? &probe_ : nullptr);
  return loss;
}

template <typename Scalar>
void FeedForwardSession<Scalar>::collect_probes(const std::vector<Param<Scalar>>& params,
                                                const std::vector<double>& update_norms,
                                                StepRecord& record) {
  if (!update_norms.empty()) probe_.record_updates(params, update_norms);
  record.layers = probe_.records();
}

template <typename Scalar>
void FeedForwardSession<Scalar>::collect_spectra(StepRecord& record) {
  const std::vector<Matrix<double>> jacobians =
      layer_jacobians<Scalar>(network_.body(), batch_.x.col(0));
  std::vector<std::size_t> finite;  // a blown-up layer is left out: its record says nonfinite
  for (std::size_t l = 0; l < jacobians.size() && l < record.layers.size(); ++l) {
    if (jacobians[l].allFinite()) finite.push_back(l);
  }
  const std::vector<MatrixSpectrum> spectra =
      matrix_spectra(static_cast<Index>(finite.size()),
                     [&](Index i) { return jacobians[finite[static_cast<std::size_t>(i)]]; });
  for (std::size_t i = 0; i < finite.size(); ++i) {
    record.layers[finite[i]].jacobian_spectral_radius = spectra[i].spectral_radius;
    record.layers[finite[i]].jacobian_spectral_norm = spectra[i].spectral_norm;
  }
}

template <typename Scalar>
EvalRecord FeedForwardSession<Scalar>::evaluate() {
  return gradscope::evaluate(network_, task_);
}

template <typename Scalar>
std::string FeedForwardSession<Scalar>::describe_parameter(const std::string& name) const {
  // "4.weight" -> child 4 -> the layer (group) holding it.
  const std::size_t dot = name.find('.');
  if (dot == std::string::npos) return name;
  try {
    const Index child = std::stol(name.substr(0, dot));
    return fmt::format("layer {} ({})", group_of_child(probe_.groups(), child) + 1, name);
  } catch (const std::exception&) {
    return name;
  }
}

template <typename Scalar>
EvalRecord evaluate(Network<Scalar>& network, const Task<Scalar>& task) {
  // Evaluation mode (BatchNorm's running averages), restored on the way out.
  const bool was_training = network.training();
  network.set_training(false);
  struct RestoreMode {
    Network<Scalar>& network;
    bool training;
    ~RestoreMode() { network.set_training(training); }
  } restore{network, was_training};
  const Batch<Scalar>& test = task.test_set();
  const std::unique_ptr<Loss<Scalar>> loss = make_loss<Scalar>(task.loss());
  constexpr Index kChunk = 1000;
  EvalRecord record;
  double loss_sum = 0.0;
  long correct = 0;
  Matrix<Scalar> scratch;
  Targets<Scalar> chunk_targets;
  for (Index start = 0; start < test.size(); start += kChunk) {
    const Index n = std::min(kChunk, test.size() - start);
    const Matrix<Scalar>& out = network.forward(test.x.middleCols(start, n));
    scratch.resize(out.rows(), out.cols());
    if (task.is_classification()) {
      const auto first = test.targets.labels.begin() + start;
      chunk_targets.labels.assign(first, first + n);
      const std::vector<int> predicted = argmax_per_column<Scalar>(out);
      for (Index j = 0; j < n; ++j) {
        correct += predicted[static_cast<std::size_t>(j)] ==
                   chunk_targets.labels[static_cast<std::size_t>(j)];
      }
    } else {
      chunk_targets.values = test.targets.values.middleCols(start, n);
    }
    loss_sum += loss->evaluate(out, chunk_targets, scratch) * static_cast<double>(n);
  }
  record.loss = loss_sum / static_cast<double>(test.size());
  if (task.is_classification()) {
    record.accuracy = static_cast<double>(correct) / static_cast<double>(test.size());
  }
  return record;
}

template class FeedForwardSession<float>;
template class FeedForwardSession<double>;
template EvalRecord evaluate<float>(Network<float>&, const Task<float>&);
template EvalRecord evaluate<double>(Network<double>&, const Task<double>&);

}  // namespace gradscope
