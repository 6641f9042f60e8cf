// The article's recurrent learning claims on the adding problem (U[0,1] values, one marker per
// half; a constant predictor scores MSE 1/6). Every run: hidden 64, batch 64, Adam lr 1e-3,
// clipping at 1, fixed seed 0; budgets below. Calibration measured with PyTorch on this machine
// (issue 3): a GRU reaches MSE 0.01 in about 1,500 steps at T = 100; an LSTM (forget bias 1) only
// starts to learn after about 3,000; a tanh RNN stays at 0.16 after 3,000 steps at T = 100 and
// reaches 0.008 at T = 10 in about 3,000.
#include <gtest/gtest.h>

#include "gradscope/model/recurrent_model.hpp"
#include "gradscope/tasks/adding_task.hpp"
#include "gradscope/train/recurrent_session.hpp"
#include "gradscope/train/trainer.hpp"

namespace gradscope {
namespace {

struct AddingRun {
  CellKind cell;
  Index length;
  long steps;
  Index window = 0;  // truncated BPTT window; 0 = full BPTT
  std::optional<double> forget_bias;
  AddingLayout layout = AddingLayout::kHalves;
};

AddingRun adding(CellKind cell, Index length, long steps) {
  AddingRun run;
  run.cell = cell;
  run.length = length;
  run.steps = steps;
  return run;
}

double test_mse(const AddingRun& run) {
  RecurrentSpec spec;
  spec.cell = run.cell;
  spec.inputs = 2;
  spec.outputs = 1;
  spec.hidden = 64;
  spec.forget_bias = run.forget_bias;
  spec.tbptt = run.window;
  Rng rng(derive_seed(0, kModelStream));
  RecurrentModel<float> model(spec, rng);
  AddingTask<float> task(run.length, derive_seed(0, kDataStream), 1000, run.layout);
  RecurrentSession<float> session(model, task);
  TrainConfig config;
  config.steps = run.steps;
  config.batch = 64;
  config.optimizer.kind = OptimizerKind::kAdam;
  config.optimizer.lr = 1e-3;
  config.clip_norm = 1.0;
  config.probe_every = 0;
  config.eval_every = 0;
  const TrainSummary summary = train(session, config);
  std::printf("%s %s T = %ld, K = %ld, %ld steps: test MSE %.4f (%.1f s)\n",
              std::string(cell_name(run.cell)).c_str(), std::string(task.name()).c_str(),
              static_cast<long>(run.length), static_cast<long>(run.window), run.steps,
              summary.final_eval.loss, summary.seconds);
  return summary.final_eval.loss;
}

TEST(AddingProblem, GruSolvesLengthOneHundred) {
  EXPECT_LT(test_mse(adding(CellKind::kGru, 100, 2500)), 0.01);
}

TEST(AddingProblem, LstmSolvesLengthOneHundred) {
  AddingRun run = adding(CellKind::kLstm, 100, 6000);
  run.forget_bias = 1.0;
  EXPECT_LT(test_mse(run), 0.01);
}

TEST(AddingProblem, TanhRnnFailsLengthOneHundredButSolvesTen) {
  EXPECT_GT(test_mse(adding(CellKind::kRnnTanh, 100, 3000)), 0.1);
  EXPECT_LT(test_mse(adding(CellKind::kRnnTanh, 10, 5000)), 0.01);
}

// With both markers in the first half (a lag of at least 50 steps), no marker ever falls inside
// the last 10-step window where the loss is: truncated BPTT with K = 10 cannot learn the rule
// that full BPTT learns. (With one marker in each half, a GRU or LSTM trained with K = 10 does
// learn at T = 100 — the second marker falls in the last window 20% of the time and the rule
// learnt there carries over by weight sharing; docs/experiments.md shows those runs.)
TEST(AddingProblem, TruncatedBpttWindowTenFailsWhereFullBpttSucceeds) {
  AddingRun full = adding(CellKind::kGru, 100, 3000);
  full.layout = AddingLayout::kFirstHalf;
  AddingRun truncated = full;
  truncated.window = 10;
  EXPECT_LT(test_mse(full), 0.01);
  EXPECT_GT(test_mse(truncated), 0.1);
}

}  // namespace
}  // namespace gradscope
