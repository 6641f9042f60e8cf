#include "gradscope/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <string>

#include "gradscope/core/error.hpp"
#include "gradscope/core/norms.hpp"
#include "gradscope/nn/cross_entropy_loss.hpp"
#include "gradscope/optim/clipping.hpp"
#include "gradscope/probe/gradient_probe.hpp"

namespace gradscope {

namespace {

// "4.weight" -> "layer 3 (4.weight)", using the probe's grouping of children into layers.
std::string describe_parameter(const std::string& name, const std::vector<LayerGroup>& groups) {
  const std::size_t dot = name.find('.');
  if (dot == std::string::npos) return name;
  try {
    const Index child = std::stol(name.substr(0, dot));
    return fmt::format("layer {} ({})", group_of_child(groups, child) + 1, name);
  } catch (const std::exception&) {
    return name;
  }
}

template <typename Scalar>
std::string first_nonfinite_value(const std::vector<Param<Scalar>>& params) {
  for (const Param<Scalar>& p : params) {
    if (!all_finite<Scalar>(*p.value)) return p.name;
  }
  return {};
}

}  // namespace

template <typename Scalar>
EvalRecord evaluate(Network<Scalar>& network, const Task<Scalar>& task) {
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

template <typename Scalar>
TrainSummary train(Network<Scalar>& network, Task<Scalar>& task, const TrainConfig& config,
                   TrainListener* listener) {
  validate(config);
  const std::unique_ptr<Loss<Scalar>> loss = make_loss<Scalar>(task.loss());
  const std::unique_ptr<Optimizer<Scalar>> optimizer = make_optimizer<Scalar>(config.optimizer);
  GradientProbe<Scalar> probe(network.body());
  const std::vector<Param<Scalar>> params = network.params();
  Batch<Scalar> batch;
  Matrix<Scalar> doutput;
  std::vector<double> update_norms;
  TrainSummary summary;
  const auto start = std::chrono::steady_clock::now();

  for (long step = 1; step <= config.steps; ++step) {
    task.next_batch(config.batch, batch);
    network.zero_grad();
    const Matrix<Scalar>& output = network.forward(batch.x);
    doutput.resize(output.rows(), output.cols());

    StepRecord record;
    record.step = step;
    record.lr = optimizer->learning_rate();
    record.loss = loss->evaluate(output, batch.targets, doutput);
    record.loss_finite = std::isfinite(record.loss);
    const bool probed = step == 1 || step == config.steps ||
                        (config.probe_every > 0 && step % config.probe_every == 0);
    network.backward(doutput, probed ? &probe : nullptr);

    const ClipReport grad =
        config.clip_norm ? clip_by_global_norm(params, *config.clip_norm) : gradient_norm(params);
    record.grad_norm = grad.norm;
    record.clipped = grad.clipped;
    record.grad_finite = grad.finite;
    record.first_nonfinite = grad.first_nonfinite;
    summary.steps = step;
    summary.final_loss = record.loss;

    if (!record.loss_finite || !record.grad_finite) {
      if (record.first_nonfinite.empty()) {
        record.first_nonfinite = first_nonfinite_value(params);
        record.weight_finite = record.first_nonfinite.empty();
      }
      record.skipped = true;
      if (probed) record.layers = probe.records();
      if (listener != nullptr) listener->on_step(record);
      if (config.on_nonfinite == NonFinitePolicy::kStop) {
        const std::string what = !record.grad_finite ? "gradient" : "loss";
        const std::string where = record.first_nonfinite.empty()
                                      ? std::string("the loss")
                                      : describe_parameter(record.first_nonfinite, probe.groups());
        throw Error(ErrorKind::kRuntime,
                    fmt::format("step {}: non-finite {} (first in {}); lower --lr, add --clip, or "
                                "pass --on-nonfinite skip",
                                step, what, where));
      }
      ++summary.skipped;
      continue;
    }

    if (config.clip_value) clip_by_value(params, *config.clip_value);
    optimizer->step(params, probed ? &update_norms : nullptr);
    if (probed) {
      probe.record_updates(params, update_norms);
      record.layers = probe.records();
    }
    if (listener != nullptr) listener->on_step(record);

    if (config.eval_every > 0 && step % config.eval_every == 0 && step != config.steps) {
      EvalRecord eval = evaluate(network, task);
      eval.step = step;
      if (listener != nullptr) listener->on_eval(eval);
    }
  }

  summary.final_eval = evaluate(network, task);
  summary.final_eval.step = summary.steps;
  if (listener != nullptr) listener->on_eval(summary.final_eval);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

template TrainSummary train<float>(Network<float>&, Task<float>&, const TrainConfig&,
                                   TrainListener*);
template TrainSummary train<double>(Network<double>&, Task<double>&, const TrainConfig&,
                                    TrainListener*);
template EvalRecord evaluate<float>(Network<float>&, const Task<float>&);
template EvalRecord evaluate<double>(Network<double>&, const Task<double>&);

}  // namespace gradscope
