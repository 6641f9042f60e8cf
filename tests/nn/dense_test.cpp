#include "gradscope/nn/dense.hpp"

#include <gtest/gtest.h>

#include "support/gradient_check.hpp"

namespace gradscope {
namespace {

TEST(Dense, ForwardIsAffine) {
  Dense<double> dense(3, 2);
  dense.weight() << 1, 2, 3, 4, 5, 6;
  dense.bias() << 0.5, -1;
  Matrix<double> x(3, 1);
  x << 1, 0, -1;
  Matrix<double> y(2, 1);
  Saved<double> saved;
  dense.forward(x, y, saved);
  EXPECT_DOUBLE_EQ(y(0, 0), 1 - 3 + 0.5);
  EXPECT_DOUBLE_EQ(y(1, 0), 4 - 6 - 1);
}

}  // namespace
}  // namespace gradscope
