#include "gradscope/experiments/training_recipes.hpp"

#include "gradscope/tasks/teacher_task.hpp"
#include "gradscope/train/trainer.hpp"

namespace gradscope {

TrainConfig teacher_sgd_recipe(long steps) {
  TrainConfig config;
  config.steps = steps;
  config.batch = 64;
  config.optimizer.kind = OptimizerKind::kSgd;
  config.optimizer.lr = 0.01;
  config.optimizer.momentum = 0.9;
  config.clip_norm = 1.0;
  config.probe_every = steps;
  config.eval_every = 0;
  return config;
}

TrainConfig adding_adam_recipe(long steps) {
  TrainConfig config;
  config.steps = steps;
  config.batch = 64;
  config.optimizer.kind = OptimizerKind::kAdam;
  config.optimizer.lr = 1e-2;
  config.clip_norm = 1.0;
  config.probe_every = steps;
  config.eval_every = 0;
  return config;
}

TeacherRun train_on_teacher(const MlpSpec& spec, const TrainConfig& config,
                            std::uint64_t model_seed, std::uint64_t data_seed) {
  Rng rng(model_seed);
  Network<float> network(build_mlp<float>(spec, rng));
  TeacherTask<float> task(spec.inputs, spec.outputs, data_seed);
  class FirstLoss final : public TrainListener {
   public:
    void on_step(const StepRecord& record) override {
      if (record.step == 1) loss = record.loss;
    }
    double loss = 0.0;
  } first;
  const TrainSummary summary = train<float>(network, task, config, &first);
  return {first.loss, summary.final_eval.loss};
}

}  // namespace gradscope
