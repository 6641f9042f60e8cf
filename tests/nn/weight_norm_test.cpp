#include "gradscope/nn/weight_norm.hpp"

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

Dense<double> random_dense(Index in, Index out, bool bias, Rng& rng) {
  Dense<double> dense(in, out, bias);
  dense.weight() = rng.normal_matrix<double>(out, in);
  if (bias) dense.bias() = rng.normal_matrix<double>(out, 1);
  return dense;
}

TEST(WeightNorm, WrappingADenseLeavesItsOutputsUnchanged) {
  for (bool bias : {true, false}) {
    Rng rng(1);
    const Dense<double> dense = random_dense(4, 3, bias, rng);
    const WeightNorm<double> wrapped(dense);
    const Matrix<double> x = rng.normal_matrix<double>(4, 3);
    EXPECT_LT((forward(wrapped, x) - forward(dense, x)).cwiseAbs().maxCoeff(), 1e-14);
    EXPECT_EQ(wrapped.weight_v(), dense.weight());
    for (Index i = 0; i < 3; ++i) {
      EXPECT_NEAR(wrapped.weight_g()(i, 0), dense.weight().row(i).norm(), 1e-15);
    }
    EXPECT_LT((wrapped.jacobian(x.col(0)) - dense.weight()).cwiseAbs().maxCoeff(), 1e-15);
    EXPECT_LT((wrapped.to_dense().weight() - dense.weight()).cwiseAbs().maxCoeff(), 1e-15);
  }
}

// ||w_i|| = g_i whatever v is, and v's length does not matter.
TEST(WeightNorm, RowLengthsAreG) {
  Rng rng(2);
  WeightNorm<double> layer(random_dense(5, 4, true, rng));
  layer.weight_g() << 0.5, 2.0, 3.0, 0.1;
  const Matrix<double> w = layer.weight();
  for (Index i = 0; i < 4; ++i) EXPECT_NEAR(w.row(i).norm(), layer.weight_g()(i, 0), 1e-14);
  const Matrix<double> x = rng.normal_matrix<double>(5, 2);
  const Matrix<double> y = forward(layer, x);
  layer.weight_v() *= 7.0;
  EXPECT_LT((forward(layer, x) - y).cwiseAbs().maxCoeff(), 1e-13);
}

// Since w does not change along v_i, the gradient in v_i is orthogonal to v_i.
TEST(WeightNorm, DirectionGradientIsOrthogonalToV) {
  Rng rng(3);
  WeightNorm<double> layer(random_dense(4, 3, true, rng));
  const Matrix<double> x = rng.normal_matrix<double>(4, 3);
  const Matrix<double> dy = rng.normal_matrix<double>(3, 3);
  Saved<double> saved;
  Matrix<double> y(3, 3), dx(4, 3);
  layer.forward(x, y, saved);
  layer.backward(x, y, saved, dy, dx);
  const Matrix<double>& dv = *layer.params()[2].grad;
  ASSERT_GT(dv.norm(), 1e-3);
  for (Index i = 0; i < 3; ++i) {
    EXPECT_LT(std::abs(dv.row(i).dot(layer.weight_v().row(i))), 1e-12);
  }
}

TEST(WeightNorm, NamesAndShapesFollowPytorch) {
  Rng rng(4);
  WeightNorm<double> layer(random_dense(4, 3, true, rng));
  std::vector<std::string> names;
  for (const Param<double>& p : layer.params()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"bias", "weight_g", "weight_v"}));
  EXPECT_EQ(layer.weight_g().rows(), 3);
  EXPECT_EQ(layer.weight_g().cols(), 1);
  EXPECT_EQ(layer.weight_v().rows(), 3);
  EXPECT_EQ(layer.weight_v().cols(), 4);
  WeightNorm<double> no_bias(random_dense(4, 3, false, rng));
  EXPECT_EQ(no_bias.params().front().name, "weight_g");
}

// Rows of 1e-170 would square to 0 in a plain norm (0/0 = NaN); the row norm is stable.
TEST(WeightNorm, TinyRowsKeepTheirDirection) {
  Rng rng(5);
  Dense<double> dense = random_dense(3, 2, false, rng);
  const Matrix<double> direction = dense.weight();
  dense.weight() *= 1e-170;
  WeightNorm<double> layer(dense);
  layer.weight_g().setOnes();
  const Matrix<double> w = layer.weight();
  ASSERT_TRUE(w.allFinite());
  for (Index i = 0; i < 2; ++i) {
    const Matrix<double> expected = direction.row(i) / direction.row(i).norm();
    EXPECT_LT((w.row(i) - expected).cwiseAbs().maxCoeff(), 1e-14);
  }
}

TEST(WeightNorm, FloatAgreesWithDouble) {
  Rng rng(6);
  const Dense<double> dense = random_dense(4, 3, true, rng);
  Dense<float> dense_f(4, 3, true);
  dense_f.weight() = dense.weight().cast<float>();
  dense_f.bias() = dense.bias().cast<float>();
  const Matrix<double> x = rng.normal_matrix<double>(4, 2);
  Saved<float> saved;
  Matrix<float> y_f(3, 2);
  WeightNorm<float>(dense_f).forward(x.cast<float>(), y_f, saved);
  EXPECT_LT((y_f.cast<double>() - forward(WeightNorm<double>(dense), x)).cwiseAbs().maxCoeff(),
            1e-5);
}

}  // namespace
}  // namespace gradscope
