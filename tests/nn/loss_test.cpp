#include <gtest/gtest.h>

#include <cmath>

#include "gradscope/core/random.hpp"
#include "gradscope/nn/cross_entropy_loss.hpp"
#include "gradscope/nn/mse_loss.hpp"
#include "support/gradient_check.hpp"

namespace gradscope {
namespace {

TEST(MseLoss, ValueIsTheMeanSquaredError) {
  Matrix<double> p(2, 2);
  p << 1, 2, 3, 4;
  Targets<double> t;
  t.values = Matrix<double>::Zero(2, 2);
  Matrix<double> dp(2, 2);
  EXPECT_DOUBLE_EQ(MseLoss<double>().evaluate(p, t, dp), (1 + 4 + 9 + 16) / 4.0);
  EXPECT_DOUBLE_EQ(dp(1, 1), 2.0 * 4 / 4.0);
}

TEST(MseLoss, GradientMatchesFiniteDifferences) {
  Rng rng(5);
  Targets<double> t;
  t.values = rng.normal_matrix<double>(3, 4);
  const testing::Disagreement d =
      testing::check_loss(MseLoss<double>(), rng.normal_matrix<double>(3, 4), t);
  EXPECT_LT(d.error, 1e-6) << d.where;
}

TEST(CrossEntropyLoss, ValueMatchesTheDefinition) {
  Matrix<double> logits(3, 2);
  logits << 1, 0, 2, 0, 3, 0;
  Targets<double> t;
  t.labels = {2, 0};
  Matrix<double> d(3, 2);
  const double expected_first = std::log(std::exp(1) + std::exp(2) + std::exp(3)) - 3.0;
  const double expected_second = std::log(3.0);
  EXPECT_NEAR(CrossEntropyLoss<double>().evaluate(logits, t, d),
              (expected_first + expected_second) / 2.0, 1e-14);
  // Each column of the gradient sums to zero (softmax minus one-hot, over the batch).
  EXPECT_NEAR(d.col(0).sum(), 0.0, 1e-15);
}

TEST(CrossEntropyLoss, StableForHugeLogits) {
  Matrix<double> logits(2, 1);
  logits << 1000.0, -1000.0;
  Targets<double> t;
  t.labels = {1};
  Matrix<double> d(2, 1);
  EXPECT_NEAR(CrossEntropyLoss<double>().evaluate(logits, t, d), 2000.0, 1e-9);
  EXPECT_TRUE(d.allFinite());
}

TEST(CrossEntropyLoss, GradientMatchesFiniteDifferences) {
  Rng rng(6);
  Targets<double> t;
  t.labels = {0, 3, 1, 3, 2};
  const testing::Disagreement d =
      testing::check_loss(CrossEntropyLoss<double>(), rng.normal_matrix<double>(4, 5, 2.0), t);
  EXPECT_LT(d.error, 1e-6) << d.where;
}

TEST(CrossEntropyLoss, NegativeLabelsAreIgnored) {
  Rng rng(8);
  const Matrix<double> logits = rng.normal_matrix<double>(3, 4);
  Targets<double> all, some;
  all.labels = {2, 0};
  some.labels = {-1, 2, -1, 0};
  Matrix<double> d_all(3, 2), d_some(3, 4);
  Matrix<double> labelled(3, 2);
  labelled << logits.col(1), logits.col(3);
  const double expected = CrossEntropyLoss<double>().evaluate(labelled, all, d_all);
  EXPECT_DOUBLE_EQ(CrossEntropyLoss<double>().evaluate(logits, some, d_some), expected);
  EXPECT_EQ(d_some.col(0).norm(), 0.0);
  EXPECT_TRUE(d_some.col(1).isApprox(d_all.col(0), 1e-15));
  const testing::Disagreement d = testing::check_loss(CrossEntropyLoss<double>(), logits, some);
  EXPECT_LT(d.error, 1e-6) << d.where;
}

TEST(CrossEntropyLoss, ArgmaxPerColumn) {
  Matrix<double> logits(3, 2);
  logits << 0.1, 5, 0.7, 1, 0.2, 2;
  EXPECT_EQ(argmax_per_column<double>(logits), (std::vector<int>{1, 0}));
}

}  // namespace
}  // namespace gradscope
