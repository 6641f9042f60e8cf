// median and fit_line, which the doctor's rules, the experiments and `gradscope bench` share.
#include "gradscope/core/statistics.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace gradscope {
namespace {

TEST(Statistics, MedianOfOddAndEvenCountsAndOfNothing) {
  EXPECT_EQ(median({5.0, 1.0, 3.0}), 3.0);
  EXPECT_EQ(median({4.0, 1.0, 3.0, 2.0}), 2.5);  // the mean of the middle two
  EXPECT_EQ(median({-7.0}), -7.0);
  EXPECT_TRUE(std::isnan(median({})));
}

TEST(Statistics, FitLineRecoversAnExactLineAndTheLeastSquaresOne) {
  const LineFit exact = fit_line({1.0, 2.0, 3.0, 4.0}, {-1.0, -3.0, -5.0, -7.0});
  EXPECT_NEAR(exact.slope, -2.0, 1e-15);
  EXPECT_NEAR(exact.intercept, 1.0, 1e-15);
  // y = 0, 1, 0 at x = 0, 1, 2: flat on average, lifted by a third.
  const LineFit flat = fit_line({0.0, 1.0, 2.0}, {0.0, 1.0, 0.0});
  EXPECT_NEAR(flat.slope, 0.0, 1e-15);
  EXPECT_NEAR(flat.intercept, 1.0 / 3.0, 1e-15);
}

TEST(Statistics, FitLineUsesTheCommonLengthAndGivesSlopeZeroWithoutSpread) {
  const LineFit shorter = fit_line({0.0, 1.0, 2.0}, {1.0, 2.0});  // the third x has no y
  EXPECT_NEAR(shorter.slope, 1.0, 1e-15);
  EXPECT_NEAR(shorter.intercept, 1.0, 1e-15);
  const LineFit vertical = fit_line({2.0, 2.0}, {0.0, 4.0});
  EXPECT_EQ(vertical.slope, 0.0);
  EXPECT_EQ(vertical.intercept, 2.0);
  const LineFit none = fit_line({}, {});
  EXPECT_EQ(none.slope, 0.0);
  EXPECT_EQ(none.intercept, 0.0);
}

}  // namespace
}  // namespace gradscope
