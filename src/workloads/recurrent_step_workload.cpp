// rnn, lstm, gru: one training step of a recurrent net as `gradscope train` takes it, with or
// without ||dL/dh_t|| recorded at every step (the per-step probe's core).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "gradscope/core/memory.hpp"
#include "gradscope/core/norms.hpp"
#include "gradscope/core/random.hpp"
#include "gradscope/model/recurrent_model.hpp"
#include "gradscope/nn/mse_loss.hpp"
#include "gradscope/optim/clipping.hpp"
#include "gradscope/optim/sgd.hpp"
#include "workloads.hpp"

namespace gradscope {

namespace {

constexpr Index kInputs = 2;
constexpr Index kDefaultHidden = 128;
constexpr Index kDefaultSteps = 200;
constexpr Index kDefaultBatch = 64;
constexpr double kClipNorm = 1.0;

class StepNormRecorder final : public TimeStepObserver<float> {
 public:
  explicit StepNormRecorder(Index steps) : norms(static_cast<std::size_t>(steps), 0.0) {}
  void after_time_step(const TimeStepGradientEvent<float>& event) override {
    norms[static_cast<std::size_t>(event.step)] = stable_norm<float>(event.dh);
  }
  std::vector<double> norms;
};

// The sizes the options ask for, the defaults where they say 0.
struct RecurrentSizes {
  Index hidden;
  Index batch;
  Index steps;
};

RecurrentSizes recurrent_sizes(const WorkloadOptions& options) {
  return {options.width > 0 ? options.width : kDefaultHidden,
          options.batch > 0 ? options.batch : kDefaultBatch,
          options.steps > 0 ? options.steps : kDefaultSteps};
}

RecurrentSpec recurrent_spec(CellKind cell, Index hidden) {
  RecurrentSpec spec;
  spec.cell = cell;
  spec.inputs = kInputs;
  spec.hidden = hidden;
  spec.outputs = 1;
  spec.head = HeadPlacement::kLastStep;
  return spec;
}

class RecurrentStepWorkload final : public Workload {
 public:
  RecurrentStepWorkload(CellKind cell, const WorkloadOptions& options, Rng rng)
      : cell_(cell),
        sizes_(recurrent_sizes(options)),
        model_(recurrent_spec(cell, sizes_.hidden), rng),
        sgd_(workload_sgd_spec()),
        recorder_(sizes_.steps),
        per_step_grad_(options.per_step_grad) {
    x_ = rng.normal_matrix<float>(kInputs, sizes_.steps * sizes_.batch);
    targets_.values = rng.normal_matrix<float>(1, sizes_.batch);
    params_ = model_.params();
  }

  void run() override {
    model_.zero_grad();
    const Matrix<float>& out = model_.forward(x_, sizes_.batch);
    doutput_.resize(out.rows(), out.cols());
    loss_ = MseLoss<float>().evaluate(out, targets_, doutput_);
    model_.backward(doutput_, per_step_grad_ ? &recorder_ : nullptr);
    clip_ = clip_by_global_norm(params_, kClipNorm);
    sgd_.step(params_);
  }

  // Per step: the gate pre-activations W_ih x + W_hh h forward, and twice as much backward
  // (dL/dh_{t-1}, dL/dx and the weight gradients).
  double flops() const override {
    const double gates = static_cast<double>(gate_count(cell_));
    const auto hidden = static_cast<double>(sizes_.hidden);
    return 6.0 * gates * hidden * (hidden + kInputs) * static_cast<double>(sizes_.batch) *
           static_cast<double>(sizes_.steps);
  }

  nlohmann::json parameters() const override {
    return {{"cell", cell_name(cell_)}, {"hidden", sizes_.hidden},
            {"steps", sizes_.steps},    {"batch", sizes_.batch},
            {"inputs", kInputs},        {"per_step_grad", per_step_grad_},
            {"dtype", "float32"}};
  }

  nlohmann::json result() const override {
    nlohmann::json out = {{"loss", loss_}, {"grad_norm", clip_.norm}, {"clipped", clip_.clipped}};
    if (per_step_grad_) {
      out["dh_norm_first_step"] = recorder_.norms.front();
      out["dh_norm_last_step"] = recorder_.norms.back();
    }
    return out;
  }

 private:
  CellKind cell_;
  RecurrentSizes sizes_;
  RecurrentModel<float> model_;
  Sgd<float> sgd_;
  StepNormRecorder recorder_;
  bool per_step_grad_;
  Matrix<float> x_;
  Targets<float> targets_;
  Matrix<float> doutput_;
  std::vector<Param<float>> params_;
  ClipReport clip_;
  double loss_ = 0.0;
};

}  // namespace

std::unique_ptr<Workload> make_recurrent_step_workload(CellKind cell,
                                                       const WorkloadOptions& options) {
  const RecurrentSizes sizes = recurrent_sizes(options);
  check_fits_in_memory(estimate_training_bytes(recurrent_spec(cell, sizes.hidden), sizes.steps,
                                               sizes.batch, sizeof(float)),
                       fmt::format("a {} workload of {} steps, hidden {}, batch {}",
                                   cell_name(cell), sizes.steps, sizes.hidden, sizes.batch));
  return std::make_unique<RecurrentStepWorkload>(cell, options, Rng(options.seed));
}

}  // namespace gradscope
