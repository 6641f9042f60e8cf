#include "gradscope/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <string>

#include "gradscope/core/error.hpp"
#include "gradscope/core/norms.hpp"
#include "gradscope/optim/clipping.hpp"
#include "gradscope/train/feed_forward_session.hpp"

namespace gradscope {

namespace {

template <typename Scalar>
std::string first_nonfinite_value(const std::vector<Param<Scalar>>& params) {
  for (const Param<Scalar>& p : params) {
    if (!all_finite<Scalar>(*p.value)) return p.name;
  }
  return {};
}

}  // namespace

template <typename Scalar>
TrainSummary train(TrainingSession<Scalar>& session, const TrainConfig& config,
                   TrainListener* listener) {
  validate(config);
  const std::unique_ptr<Optimizer<Scalar>> optimizer = make_optimizer<Scalar>(config.optimizer);
  const std::vector<Param<Scalar>> params = session.params();
  std::vector<double> update_norms;
  TrainSummary summary;
  const auto start = std::chrono::steady_clock::now();

  for (long step = 1; step <= config.steps; ++step) {
    const bool spectra = config.spectrum_every > 0 && step % config.spectrum_every == 0;
    const bool probed = step == 1 || step == config.steps || spectra ||
                        (config.probe_every > 0 && step % config.probe_every == 0);
    StepRecord record;
    record.step = step;
    record.lr = optimizer->learning_rate();
    record.loss = session.compute_gradients(config.batch, probed);
    record.loss_finite = std::isfinite(record.loss);

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
      if (probed) session.collect_probes(params, {}, record);
      if (listener != nullptr) listener->on_step(record);
      if (config.on_nonfinite == NonFinitePolicy::kStop) {
        const std::string what = !record.grad_finite ? "gradient" : "loss";
        const std::string where = record.first_nonfinite.empty()
                                      ? std::string("the loss")
                                      : session.describe_parameter(record.first_nonfinite);
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
    if (probed) session.collect_probes(params, update_norms, record);
    if (spectra) session.collect_spectra(record);
    if (listener != nullptr) listener->on_step(record);

    if (config.eval_every > 0 && step % config.eval_every == 0 && step != config.steps) {
      EvalRecord eval = session.evaluate();
      eval.step = step;
      if (listener != nullptr) listener->on_eval(eval);
    }
  }

  summary.final_eval = session.evaluate();
  summary.final_eval.step = summary.steps;
  if (listener != nullptr) listener->on_eval(summary.final_eval);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

template <typename Scalar>
TrainSummary train(Network<Scalar>& network, Task<Scalar>& task, const TrainConfig& config,
                   TrainListener* listener) {
  FeedForwardSession<Scalar> session(network, task);
  return train(session, config, listener);
}

template TrainSummary train<float>(TrainingSession<float>&, const TrainConfig&, TrainListener*);
template TrainSummary train<double>(TrainingSession<double>&, const TrainConfig&, TrainListener*);
template TrainSummary train<float>(Network<float>&, Task<float>&, const TrainConfig&,
                                   TrainListener*);
template TrainSummary train<double>(Network<double>&, Task<double>&, const TrainConfig&,
                                    TrainListener*);

}  // namespace gradscope
