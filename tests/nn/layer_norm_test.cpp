#include "gradscope/nn/layer_norm.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "gradscope/core/random.hpp"

namespace gradscope {
namespace {

Matrix<double> forward(const Layer<double>& layer, const Matrix<double>& x) {
  Saved<double> saved;
  Matrix<double> y(layer.output_size(x.rows()), x.cols());
  layer.forward(x, y, saved);
  return y;
}

// 1 - mean(1) = 0 in every feature: the all-ones vector (and any constant vector) maps to beta.
TEST(LayerNorm, SendsTheAllOnesVectorToZero) {
  LayerNorm<double> layer(5);
  Matrix<double> x(5, 2);
  x.col(0).setOnes();
  x.col(1).setConstant(-3.25);
  EXPECT_EQ(forward(layer, x), Matrix<double>::Zero(5, 2));

  Rng rng(1);
  layer.weight() = rng.normal_matrix<double>(5, 1);
  layer.bias() = rng.normal_matrix<double>(5, 1);
  const Matrix<double> y = forward(layer, x);
  EXPECT_EQ(y.col(0), layer.bias());
  EXPECT_EQ(y.col(1), layer.bias());
}

TEST(LayerNorm, HandComputedSample) {
  LayerNorm<double> layer(4);
  Matrix<double> x(4, 1);
  x << 1, 2, 3, 6;  // mean 3, biased variance 14/4
  const Matrix<double> y = forward(layer, x);
  const double sigma = std::sqrt(3.5 + 1e-5);
  EXPECT_NEAR(y(0, 0), -2.0 / sigma, 1e-15);
  EXPECT_NEAR(y(1, 0), -1.0 / sigma, 1e-15);
  EXPECT_NEAR(y(2, 0), 0.0, 1e-15);
  EXPECT_NEAR(y(3, 0), 3.0 / sigma, 1e-15);
}

TEST(LayerNorm, EachSampleHasZeroMeanAndUnitVariance) {
  Rng rng(2);
  LayerNorm<double> layer(6);
  Matrix<double> x = rng.normal_matrix<double>(6, 3);
  x.col(1) *= 10.0;
  x.col(2).array() += 4.0;
  const Matrix<double> y = forward(layer, x);
  for (Index b = 0; b < 3; ++b) {
    const double mean_x = x.col(b).mean();
    const double var_x = (x.col(b).array() - mean_x).square().mean();
    EXPECT_LT(std::abs(y.col(b).mean()), 1e-14);
    EXPECT_NEAR(y.col(b).squaredNorm() / 6.0, var_x / (var_x + 1e-5), 1e-12);
  }
  // Samples are independent: one column alone gives the same output.
  EXPECT_LT((forward(layer, x.col(1)) - y.col(1)).cwiseAbs().maxCoeff(), 1e-14);
}

// J 1 = 0 (a shift of every feature changes nothing) and J is the same in both modes.
TEST(LayerNorm, JacobianKillsUniformShifts) {
  Rng rng(3);
  LayerNorm<double> layer(5);
  layer.weight() = rng.uniform_matrix<double>(5, 1, 0.5, 1.5);
  const Matrix<double> x = rng.normal_matrix<double>(5, 1);
  const Matrix<double> jac = layer.jacobian(x);
  EXPECT_LT((jac * Vector<double>::Ones(5)).cwiseAbs().maxCoeff(), 1e-14);
  EXPECT_GT(jac.cwiseAbs().maxCoeff(), 0.1);
  layer.set_training(false);
  EXPECT_EQ(layer.jacobian(x), jac);
}

TEST(LayerNorm, NamesFollowPytorch) {
  LayerNorm<double> layer(3);
  std::vector<std::string> names;
  for (const Param<double>& p : layer.params()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(layer.weight(), Matrix<double>::Ones(3, 1));
  EXPECT_EQ(layer.bias(), Matrix<double>::Zero(3, 1));
  EXPECT_TRUE(LayerNorm<double>(3, 1e-5, false).params().empty());
}

TEST(LayerNorm, FloatAgreesWithDouble) {
  Rng rng(4);
  const Matrix<double> x = rng.normal_matrix<double>(5, 3);
  LayerNorm<float> layer_f(5);
  Saved<float> saved;
  Matrix<float> y_f(5, 3);
  layer_f.forward(x.cast<float>(), y_f, saved);
  EXPECT_LT((y_f.cast<double>() - forward(LayerNorm<double>(5), x)).cwiseAbs().maxCoeff(), 1e-5);
}

}  // namespace
}  // namespace gradscope
