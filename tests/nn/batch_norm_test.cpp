#include "gradscope/nn/batch_norm.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "gradscope/core/error.hpp"
#include "gradscope/core/random.hpp"
#include "gradscope/nn/sequential.hpp"

namespace gradscope {
namespace {

Matrix<double> forward(const Layer<double>& layer, const Matrix<double>& x) {
  Saved<double> saved;
  Matrix<double> y(layer.output_size(x.rows()), x.cols());
  layer.forward(x, y, saved);
  return y;
}

// Feature 0: 1, 2, 3, 6 (mean 3, biased variance 14/4, unbiased 14/3);
// feature 1: -2, 0, 0, 2 (mean 0, biased variance 8/4, unbiased 8/3).
Matrix<double> hand_batch() {
  Matrix<double> x(2, 4);
  x << 1, 2, 3, 6,  //
      -2, 0, 0, 2;
  return x;
}

TEST(BatchNorm, TrainingOutputHasZeroMeanAndUnitVariancePerFeature) {
  Rng rng(1);
  BatchNorm<double> layer(4);
  Matrix<double> x = rng.normal_matrix<double>(4, 6);
  x.row(0) *= 5.0;  // features of very different scales and offsets
  x.row(1).array() += 3.0;
  x.row(3) *= 0.5;
  const Matrix<double> y = forward(layer, x);
  for (Index f = 0; f < 4; ++f) {
    const double mean_x = x.row(f).mean();
    const double var_x = (x.row(f).array() - mean_x).square().mean();
    const double mean_y = y.row(f).mean();
    const double var_y = (y.row(f).array() - mean_y).square().mean();
    EXPECT_LT(std::abs(mean_y), 1e-14) << f;
    EXPECT_NEAR(var_y, var_x / (var_x + 1e-5), 1e-12) << f;  // 1 up to eps
    EXPECT_NEAR(var_y, 1.0, 2e-4) << f;
  }
}

TEST(BatchNorm, HandComputedOutputAndRunningAverages) {
  BatchNorm<double> layer(2);
  const Matrix<double> y = forward(layer, hand_batch());
  EXPECT_NEAR(y(0, 0), -2.0 / std::sqrt(3.5 + 1e-5), 1e-15);
  EXPECT_NEAR(y(1, 3), 2.0 / std::sqrt(2.0 + 1e-5), 1e-15);
  // running = 0.9 running + 0.1 batch; the variance unbiased (B / (B - 1)).
  EXPECT_NEAR(layer.running_mean()(0, 0), 0.3, 1e-15);
  EXPECT_NEAR(layer.running_mean()(1, 0), 0.0, 1e-15);
  EXPECT_NEAR(layer.running_var()(0, 0), 0.9 + 0.1 * 14.0 / 3.0, 1e-15);  // 41/30
  EXPECT_NEAR(layer.running_var()(1, 0), 0.9 + 0.1 * 8.0 / 3.0, 1e-15);   // 7/6
  EXPECT_EQ(layer.num_batches_tracked(), 1);

  // A second step moves them again by the same rule.
  Matrix<double> x2(2, 2);
  x2 << 4, 8,  //
      1, 1;
  forward(layer, x2);
  EXPECT_NEAR(layer.running_mean()(0, 0), 0.9 * 0.3 + 0.1 * 6.0, 1e-15);
  EXPECT_NEAR(layer.running_var()(0, 0), 0.9 * (41.0 / 30.0) + 0.1 * 8.0, 1e-15);
  EXPECT_NEAR(layer.running_var()(1, 0), 0.9 * (7.0 / 6.0), 1e-15);
  EXPECT_EQ(layer.num_batches_tracked(), 2);
}

TEST(BatchNorm, EvaluationModeUsesRunningStatisticsAndLeavesThemAlone) {
  BatchNorm<double> layer(2);
  Matrix<double> mean(2, 1), var(2, 1), gamma(2, 1), beta(2, 1);
  mean << 0.5, -1.0;
  var << 4.0, 0.25;
  gamma << 2.0, -1.0;
  beta << 0.1, 0.2;
  layer.set_running_mean(mean);
  layer.set_running_var(var);
  layer.set_num_batches_tracked(7);
  layer.weight() = gamma;
  layer.bias() = beta;
  layer.set_training(false);
  const Matrix<double> y = forward(layer, hand_batch());
  EXPECT_NEAR(y(0, 2), 2.0 * (3.0 - 0.5) / std::sqrt(4.0 + 1e-5) + 0.1, 1e-15);
  EXPECT_NEAR(y(1, 0), -1.0 * (-2.0 + 1.0) / std::sqrt(0.25 + 1e-5) + 0.2, 1e-15);
  EXPECT_EQ(layer.running_mean(), mean);
  EXPECT_EQ(layer.running_var(), var);
  EXPECT_EQ(layer.num_batches_tracked(), 7);
  // A single sample is fine in evaluation mode, and its output does not depend on the batch.
  const Matrix<double> one = hand_batch().col(2);
  EXPECT_LT((forward(layer, one) - y.col(2)).cwiseAbs().maxCoeff(), 1e-15);
}

TEST(BatchNorm, TrainingModeRejectsASingleSample) {
  BatchNorm<double> layer(2);
  try {
    forward(layer, hand_batch().col(0));
    ADD_FAILURE() << "a one-sample training batch must be rejected";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
  }
  EXPECT_EQ(layer.num_batches_tracked(), 0);
}

// The per-sample Jacobian is the evaluation-mode one in both modes and moves no buffer.
TEST(BatchNorm, PerSampleJacobianIsTheEvaluationModeOne) {
  Rng rng(2);
  BatchNorm<double> layer(3);
  layer.weight() = rng.normal_matrix<double>(3, 1);
  layer.set_running_var(rng.uniform_matrix<double>(3, 1, 0.5, 2.0));
  const Matrix<double> x = rng.normal_matrix<double>(3, 1);
  Matrix<double> expected = Matrix<double>::Zero(3, 3);
  for (Index f = 0; f < 3; ++f) {
    expected(f, f) = layer.weight()(f, 0) / std::sqrt(layer.running_var()(f, 0) + 1e-5);
  }
  const Matrix<double> var_before = layer.running_var();
  EXPECT_LT((layer.jacobian(x) - expected).cwiseAbs().maxCoeff(), 1e-15);
  EXPECT_LT((jacobian_by_vjp<double>(layer, x) - expected).cwiseAbs().maxCoeff(), 1e-15);
  EXPECT_EQ(layer.running_var(), var_before);
  EXPECT_EQ(layer.num_batches_tracked(), 0);
  EXPECT_TRUE(layer.training());
}

// Shifting one feature in every sample changes nothing in training mode: the batch Jacobian's
// rows sum to zero within each feature, and features do not mix.
TEST(BatchNorm, BatchJacobianIgnoresPerFeatureShiftsAndKeepsFeaturesApart) {
  Rng rng(3);
  BatchNorm<double> layer(3);
  layer.weight() = rng.uniform_matrix<double>(3, 1, 0.5, 1.5);
  const Matrix<double> x = rng.normal_matrix<double>(3, 4);
  const Matrix<double> jac = layer.batch_jacobian(x);
  ASSERT_EQ(jac.rows(), 12);
  ASSERT_EQ(jac.cols(), 12);
  for (Index r = 0; r < 12; ++r) {
    double shift = 0.0;
    for (Index c = 0; c < 12; ++c) {
      if (r % 3 == c % 3) {
        shift += jac(r, c);
      } else {
        EXPECT_EQ(jac(r, c), 0.0);
      }
    }
    EXPECT_LT(std::abs(shift), 1e-12) << r;
  }
  EXPECT_EQ(layer.num_batches_tracked(), 0);  // batch_jacobian does not update the buffers

  // In evaluation mode it is block diagonal with the per-sample Jacobian on each block.
  layer.set_training(false);
  const Matrix<double> eval = layer.batch_jacobian(x);
  const Matrix<double> per_sample = layer.jacobian(x.col(0));
  for (Index b = 0; b < 4; ++b) {
    EXPECT_EQ(eval.block(3 * b, 3 * b, 3, 3), per_sample);
  }
  EXPECT_EQ(eval.cwiseAbs().sum(), 4 * per_sample.cwiseAbs().sum());
}

// backward follows the mode of the forward it belongs to, not the mode at backward time.
TEST(BatchNorm, BackwardFollowsTheForwardsMode) {
  Rng rng(4);
  BatchNorm<double> layer(3);
  const Matrix<double> x = rng.normal_matrix<double>(3, 4);
  const Matrix<double> dy = rng.normal_matrix<double>(3, 4);
  Saved<double> saved;
  Matrix<double> y(3, 4), dx_train(3, 4), dx_switched(3, 4);
  layer.forward(x, y, saved);
  layer.backward(x, y, saved, dy, dx_train);
  layer.set_training(false);
  layer.backward(x, y, saved, dy, dx_switched);
  EXPECT_EQ(dx_train, dx_switched);
  // Through the batch statistics, dx sums to zero over the batch for every feature.
  EXPECT_LT(dx_train.rowwise().sum().cwiseAbs().maxCoeff(), 1e-12);
}

TEST(BatchNorm, NamesAndBuffersFollowPytorch) {
  BatchNorm<double> layer(3);
  std::vector<std::string> names;
  for (const Param<double>& p : layer.params()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(layer.weight(), Matrix<double>::Ones(3, 1));
  EXPECT_EQ(layer.bias(), Matrix<double>::Zero(3, 1));
  EXPECT_EQ(layer.running_var(), Matrix<double>::Ones(3, 1));
  EXPECT_TRUE(BatchNorm<double>(3, 1e-5, 0.1, false).params().empty());

  Sequential<double> body;
  body.add(std::make_unique<BatchNorm<double>>(3));
  body.add(std::make_unique<BatchNorm<double>>(3));
  std::vector<std::string> buffers;
  for (const Buffer<double>& b : body.buffers()) buffers.push_back(b.name);
  EXPECT_EQ(buffers,
            (std::vector<std::string>{"0.running_mean", "0.running_var", "0.num_batches_tracked",
                                      "1.running_mean", "1.running_var", "1.num_batches_tracked"}));
  // The buffers are the layer's own state: writing through them is what a checkpoint load does.
  *body.buffers()[4].value = Matrix<double>::Constant(3, 1, 9.0);
  *body.buffers()[5].count = 42;
  const auto& second = static_cast<const BatchNorm<double>&>(body.layer(1));
  EXPECT_EQ(second.running_var()(2, 0), 9.0);
  EXPECT_EQ(second.num_batches_tracked(), 42);
  EXPECT_THROW(layer.set_running_mean(Matrix<double>::Zero(2, 1)), Error);
  EXPECT_THROW(layer.set_running_var(Matrix<double>::Zero(3, 2)), Error);
}

TEST(BatchNorm, FloatAgreesWithDouble) {
  Rng rng(5);
  const Matrix<double> x = rng.normal_matrix<double>(3, 5);
  BatchNorm<double> layer(3);
  BatchNorm<float> layer_f(3);
  Saved<float> saved;
  Matrix<float> y_f(3, 5);
  layer_f.forward(x.cast<float>(), y_f, saved);
  EXPECT_LT((y_f.cast<double>() - forward(layer, x)).cwiseAbs().maxCoeff(), 1e-5);
  EXPECT_LT((layer_f.running_var().cast<double>() - layer.running_var()).cwiseAbs().maxCoeff(),
            1e-6);
}

}  // namespace
}  // namespace gradscope
