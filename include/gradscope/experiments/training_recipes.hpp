// The training recipes several experiments share, so that a setting changes in one place and the
// settings an experiment records (to_json(TrainConfig)) are the ones it trained with.
#pragma once

#include <cstdint>

#include "gradscope/model/mlp.hpp"
#include "gradscope/train/train_config.hpp"

namespace gradscope {

// Feed-forward nets on the teacher task: SGD lr 0.01, momentum 0.9, clipping at 1, batch 64;
// probed at the first and last step only, evaluated at the end only.
TrainConfig teacher_sgd_recipe(long steps);

// Recurrent nets on the adding problem: Adam lr 1e-2, clipping at 1, batch 64; probed at the first
// and last step only, evaluated at the end only.
TrainConfig adding_adam_recipe(long steps);

struct TeacherRun {
  double first_loss = 0.0;  // the training loss of step 1
  double test_loss = 0.0;   // the test MSE after the last step (NaN if the net diverged)
};

// Trains a float32 MLP built from `spec` (weights drawn from Rng(model_seed)) on the teacher task
// of TeacherTask(spec.inputs, spec.outputs, data_seed).
TeacherRun train_on_teacher(const MlpSpec& spec, const TrainConfig& config,
                            std::uint64_t model_seed, std::uint64_t data_seed);

}  // namespace gradscope
