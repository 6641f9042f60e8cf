// stable_norm against a long double reference, on the float entries whose plain sum of squares
// underflows (vanishing gradients, denormals) or overflows (exploding ones).
#include "gradscope/core/norms.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "gradscope/core/random.hpp"

namespace gradscope {
namespace {

double reference_norm(const Matrix<float>& m) {
  long double sum = 0.0L;
  for (Index i = 0; i < m.size(); ++i) {
    sum += static_cast<long double>(m.data()[i]) * static_cast<long double>(m.data()[i]);
  }
  return static_cast<double>(std::sqrt(sum));
}

TEST(StableNorm, FloatMatchesLongDoubleAtEveryScale) {
  Rng rng(12);
  const Matrix<float> unit = rng.normal_matrix<float>(128, 64);
  // 1e-25: squares underflow float; 1e-41: the entries themselves are denormal; 1e25: squares
  // overflow float.
  for (const float scale : {1.0f, 1e-12f, 1e-25f, 1e-41f, 1e25f}) {
    SCOPED_TRACE(::testing::Message() << "entries of order " << scale);
    const Matrix<float> m = unit * scale;
    const double expected = reference_norm(m);
    ASSERT_GT(expected, 0.0);
    // Denormal entries carry only a few significant bits of their own.
    const double tolerance = scale < 1e-38f ? 1e-2 : 1e-5;
    EXPECT_NEAR(stable_norm<float>(m) / expected, 1.0, tolerance);
  }
}

// Contiguous matrices are reduced as one vector, strided blocks column by column.
TEST(StableNorm, StridedBlocksAndContiguousCopiesAgree) {
  Rng rng(13);
  for (const float scale : {1.0f, 1e-25f}) {
    const Matrix<float> m = rng.normal_matrix<float>(64, 40) * scale;
    const Matrix<float> block = m.block(3, 5, 50, 30);
    EXPECT_NEAR(stable_norm<float>(m.block(3, 5, 50, 30)) / stable_norm<float>(block), 1.0, 1e-6);
    EXPECT_NEAR(stable_norm<float>(block) / reference_norm(block), 1.0, 1e-5);
  }
}

// Contiguous vectors are summed in blocks of 64 entries and a rest: lengths on both sides of the
// block, at a plain and at a scaled (vanishing) magnitude, whole and as the columns column_norms
// takes one by one.
TEST(StableNorm, ContiguousLengthsAroundTheBlockOfSixtyFour) {
  Rng rng(14);
  for (const float scale : {1.0f, 1e-25f}) {
    for (const Index n : {Index{1}, Index{63}, Index{64}, Index{65}, Index{130}, Index{1000}}) {
      SCOPED_TRACE(::testing::Message() << n << " entries of order " << scale);
      const Matrix<float> v = rng.normal_matrix<float>(n, 1) * scale;
      EXPECT_NEAR(stable_norm<float>(v) / reference_norm(v), 1.0, 1e-6);
      const Matrix<float> m = rng.normal_matrix<float>(n, 3) * scale;
      double mean = 0.0;
      for (Index j = 0; j < m.cols(); ++j) mean += reference_norm(m.col(j)) / 3.0;
      EXPECT_NEAR(column_norms<float>(m).mean / mean, 1.0, 1e-6);
    }
  }
}

TEST(StableNorm, FloatOfUnevenEntriesKeepsTheSmallOnes) {
  Matrix<float> m = Matrix<float>::Constant(1000, 1, 1e-30f);
  m(0) = 3e-29f;
  EXPECT_NEAR(stable_norm<float>(m) / reference_norm(m), 1.0, 1e-5);
}

TEST(StableNorm, FloatZeroInfinityAndNaN) {
  EXPECT_EQ(stable_norm<float>(Matrix<float>::Zero(5, 3)), 0.0);
  Matrix<float> m = Matrix<float>::Constant(5, 3, 1e-30f);
  m(2, 1) = std::numeric_limits<float>::infinity();
  EXPECT_EQ(stable_norm<float>(m), std::numeric_limits<double>::infinity());
  m(2, 1) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(stable_norm<float>(m)));
}

// The scaled pass for sums of squares too small for the fast one: its edges in float (the
// smallest denormal alone, entries just under the fast pass's range) and in double (entries
// whose scaled squares still underflow, which fall back to stableNorm).
TEST(StableNorm, TinyEntriesAtTheEdgesOfTheScaledPass) {
  Matrix<float> lone = Matrix<float>::Zero(64, 8);
  lone(5, 3) = std::numeric_limits<float>::denorm_min();
  EXPECT_EQ(stable_norm<float>(lone),
            static_cast<double>(std::numeric_limits<float>::denorm_min()));
  for (const float entry : {3e-17f, 1e-30f, 1e-39f}) {
    SCOPED_TRACE(::testing::Message() << "float entries " << entry);
    Matrix<float> m = Matrix<float>::Constant(128, 64, entry);
    m(0, 0) = 2.0f * entry;
    const double tolerance = entry < 1e-38f ? 1e-2 : 1e-5;
    EXPECT_NEAR(stable_norm<float>(m) / reference_norm(m), 1.0, tolerance);
  }
  for (const double entry : {1e-150, 1e-200, 1e-310}) {
    SCOPED_TRACE(::testing::Message() << "double entries " << entry);
    const Matrix<double> m = Matrix<double>::Constant(100, 3, entry);
    const double expected = entry * std::sqrt(300.0);
    EXPECT_NEAR(stable_norm<double>(m) / expected, 1.0, entry < 1e-300 ? 1e-3 : 1e-12);
  }
}

}  // namespace
}  // namespace gradscope
