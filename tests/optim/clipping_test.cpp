// Global-norm clipping (g <- c g / ||g|| when ||g|| > c), its stable norm, its handling of
// non-finite gradients, and value clipping.
#include "gradscope/optim/clipping.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "gradscope/core/error.hpp"

namespace gradscope {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Three parameters whose gradients are [3, 4], [[12]] and [0, 0]: global norm 13.
struct ThreeParams {
  Matrix<double> w1 = Matrix<double>::Zero(2, 1);
  Matrix<double> dw1{{3.0}, {4.0}};
  Matrix<double> w2 = Matrix<double>::Zero(1, 1);
  Matrix<double> dw2{{12.0}};
  Matrix<double> w3 = Matrix<double>::Zero(1, 2);
  Matrix<double> dw3 = Matrix<double>::Zero(1, 2);
  std::vector<Param<double>> params() {
    return {{"0.weight", &w1, &dw1}, {"0.bias", &w2, &dw2}, {"2.weight", &w3, &dw3}};
  }
};

bool same_bytes(const Matrix<double>& a, const Matrix<double>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<std::size_t>(a.size())) == 0;
}

TEST(GradientNorm, IsTheNormOfAllGradientsTogetherAndChangesNothing) {
  ThreeParams net;
  const Matrix<double> before = net.dw1;
  const ClipReport report = gradient_norm(net.params());
  EXPECT_EQ(report.norm, 13.0);
  EXPECT_TRUE(report.finite);
  EXPECT_FALSE(report.clipped);
  EXPECT_TRUE(same_bytes(net.dw1, before));
}

TEST(GradientNorm, EmptyListHasNormZero) {
  const ClipReport report = gradient_norm(std::vector<Param<double>>{});
  EXPECT_EQ(report.norm, 0.0);
  EXPECT_TRUE(report.finite);
}

TEST(ClipByGlobalNorm, AboveMaxNormRescalesToMaxNormKeepingDirection) {
  ThreeParams net;
  const Matrix<double> dw1 = net.dw1;
  const Matrix<double> dw2 = net.dw2;
  const ClipReport report = clip_by_global_norm(net.params(), 6.5);
  EXPECT_TRUE(report.clipped);
  EXPECT_TRUE(report.finite);
  EXPECT_EQ(report.norm, 13.0);  // reported before clipping
  EXPECT_NEAR(gradient_norm(net.params()).norm, 6.5, 6.5 * 1e-12);
  // Direction unchanged: every entry scaled by the same 6.5 / 13.
  EXPECT_NEAR(net.dw1(0) / dw1(0), 0.5, 1e-15);
  EXPECT_NEAR(net.dw1(1) / dw1(1), 0.5, 1e-15);
  EXPECT_NEAR(net.dw2(0) / dw2(0), 0.5, 1e-15);
  EXPECT_EQ(net.dw3(0), 0.0);
}

TEST(ClipByGlobalNorm, NonRoundFactorGivesMaxNormToRoundOff) {
  ThreeParams net;
  const ClipReport report = clip_by_global_norm(net.params(), 1.0);
  EXPECT_EQ(report.norm, 13.0);
  EXPECT_NEAR(gradient_norm(net.params()).norm, 1.0, 1e-12);
  EXPECT_NEAR(net.dw1(0), 3.0 / 13.0, 1e-15);
  EXPECT_NEAR(net.dw2(0), 12.0 / 13.0, 1e-15);
}

TEST(ClipByGlobalNorm, AtOrBelowMaxNormLeavesGradientsBitIdentical) {
  for (double max_norm : {13.0, 13.5, 1e6}) {
    ThreeParams net;
    const Matrix<double> dw1 = net.dw1;
    const Matrix<double> dw2 = net.dw2;
    const ClipReport report = clip_by_global_norm(net.params(), max_norm);
    EXPECT_FALSE(report.clipped) << max_norm;
    EXPECT_EQ(report.norm, 13.0) << max_norm;
    EXPECT_TRUE(same_bytes(net.dw1, dw1)) << max_norm;
    EXPECT_TRUE(same_bytes(net.dw2, dw2)) << max_norm;
  }
}

TEST(ClipByGlobalNorm, NaNIsReportedByFirstBadParamAndGradsAreUntouched) {
  ThreeParams net;
  net.dw2(0) = kNaN;
  net.dw3(1) = kInf;  // a later bad parameter does not replace the first one
  const Matrix<double> dw1 = net.dw1;
  const Matrix<double> dw2 = net.dw2;
  const Matrix<double> dw3 = net.dw3;
  const ClipReport report = clip_by_global_norm(net.params(), 1.0);
  EXPECT_FALSE(report.finite);
  EXPECT_FALSE(report.clipped);
  EXPECT_EQ(report.first_nonfinite, "0.bias");
  EXPECT_TRUE(std::isnan(report.norm));
  EXPECT_TRUE(same_bytes(net.dw1, dw1));
  EXPECT_TRUE(same_bytes(net.dw2, dw2));
  EXPECT_TRUE(same_bytes(net.dw3, dw3));
}

TEST(ClipByGlobalNorm, InfIsReportedByFirstBadParamAndGradsAreUntouched) {
  ThreeParams net;
  net.dw3(0) = -kInf;
  const Matrix<double> dw1 = net.dw1;
  const ClipReport report = clip_by_global_norm(net.params(), 1.0);
  EXPECT_FALSE(report.finite);
  EXPECT_FALSE(report.clipped);
  EXPECT_EQ(report.first_nonfinite, "2.weight");
  EXPECT_EQ(report.norm, kInf);
  EXPECT_TRUE(same_bytes(net.dw1, dw1));
  EXPECT_EQ(net.dw3(0), -kInf);

  net.dw3(0) = 0.0;
  net.dw1(1) = kInf;
  EXPECT_EQ(gradient_norm(net.params()).first_nonfinite, "0.weight");
}

// The sum of the parameters' squared norms (1e-398) underflows double; the scaled sum does not.
TEST(ClipByGlobalNorm, TinyDoubleGradientsHaveTheirTrueNorm) {
  ThreeParams net;
  net.dw1 << 3e-200, 4e-200;
  net.dw2 << 1.2e-199;
  const ClipReport report = clip_by_global_norm(net.params(), 6.5e-200);
  EXPECT_NEAR(report.norm / 1.3e-199, 1.0, 1e-14);
  EXPECT_TRUE(report.clipped);
  EXPECT_NEAR(net.dw1(0) / 1.5e-200, 1.0, 1e-14);
  EXPECT_NEAR(net.dw2(0) / 6e-200, 1.0, 1e-14);
}

// In float, 1e-30 squared (1e-60) is far below float's smallest positive value (1e-45).
TEST(ClipByGlobalNorm, TinyFloatGradientsHaveTheirTrueNorm) {
  Matrix<float> w1(2, 2);
  Matrix<float> dw1(2, 2);
  Matrix<float> w2(1, 1);
  Matrix<float> dw2(1, 1);
  dw1 << 1e-30f, 1e-30f, 1e-30f, 1e-30f;  // norm 2e-30
  dw2 << 1e-30f;
  const std::vector<Param<float>> params{{"a", &w1, &dw1}, {"b", &w2, &dw2}};
  const ClipReport report = gradient_norm(params);
  EXPECT_TRUE(report.finite);
  EXPECT_NEAR(report.norm / (std::sqrt(5.0) * 1e-30), 1.0, 1e-6);
  EXPECT_FALSE(clip_by_global_norm(params, 1.0).clipped);
}

TEST(ClipByGlobalNorm, HugeDoubleGradientsDoNotOverflow) {
  ThreeParams net;
  net.dw1 << 3e200, 4e200;
  net.dw2 << 1.2e201;
  const ClipReport report = clip_by_global_norm(net.params(), 1.0);
  EXPECT_TRUE(report.finite);
  EXPECT_TRUE(report.clipped);
  EXPECT_NEAR(report.norm / 1.3e201, 1.0, 1e-14);
  EXPECT_NEAR(net.dw1(0), 3.0 / 13.0, 1e-14);
  EXPECT_NEAR(net.dw1(1), 4.0 / 13.0, 1e-14);
  EXPECT_NEAR(net.dw2(0), 12.0 / 13.0, 1e-14);
}

// Finite entries whose global norm (2.1e308) is above the double range: reported as +inf, and
// still clipped to max_norm.
TEST(ClipByGlobalNorm, NormBeyondDoubleRangeIsStillClipped) {
  Matrix<double> w(1, 1);
  Matrix<double> dw1{{1.5e308}};
  Matrix<double> dw2{{-1.5e308}};
  const std::vector<Param<double>> params{{"a", &w, &dw1}, {"b", &w, &dw2}};
  const ClipReport report = clip_by_global_norm(params, 2.0);
  EXPECT_TRUE(report.finite);
  EXPECT_EQ(report.norm, kInf);
  EXPECT_TRUE(report.clipped);
  EXPECT_NEAR(dw1(0), std::sqrt(2.0), 1e-14);
  EXPECT_NEAR(dw2(0), -std::sqrt(2.0), 1e-14);
}

TEST(ClipByGlobalNorm, FloatClipsToMaxNorm) {
  Matrix<float> w(1, 3);
  Matrix<float> dw(1, 3);
  dw << 2.0f, -4.0f, 4.0f;  // norm 6
  const std::vector<Param<float>> params{{"w", &w, &dw}};
  const ClipReport report = clip_by_global_norm(params, 3.0);
  EXPECT_EQ(report.norm, 6.0);
  EXPECT_TRUE(report.clipped);
  EXPECT_EQ(dw(0), 1.0f);
  EXPECT_EQ(dw(1), -2.0f);
  EXPECT_NEAR(gradient_norm(params).norm, 3.0, 3e-6);
}

TEST(ClipByGlobalNorm, RejectsNonPositiveMaxNorm) {
  ThreeParams net;
  EXPECT_THROW(clip_by_global_norm(net.params(), 0.0), Error);
  EXPECT_THROW(clip_by_global_norm(net.params(), -1.0), Error);
  EXPECT_THROW(clip_by_global_norm(net.params(), kNaN), Error);
}

TEST(ClipByValue, ClampsEveryEntryAndKeepsNaN) {
  Matrix<double> w(1, 1);
  Matrix<double> dw1(1, 4);
  Matrix<double> dw2(1, 3);
  dw1 << -3, 0.5, 2, -0.1;
  dw2 << kInf, kNaN, -1;
  const std::vector<Param<double>> params{{"a", &w, &dw1}, {"b", &w, &dw2}};
  clip_by_value(params, 1.0);
  EXPECT_EQ(dw1(0), -1.0);
  EXPECT_EQ(dw1(1), 0.5);
  EXPECT_EQ(dw1(2), 1.0);
  EXPECT_EQ(dw1(3), -0.1);
  EXPECT_EQ(dw2(0), 1.0);
  EXPECT_TRUE(std::isnan(dw2(1)));
  EXPECT_EQ(dw2(2), -1.0);
}

TEST(ClipByValue, FloatClampsAndRejectsNonPositiveValue) {
  Matrix<float> w(1, 1);
  Matrix<float> dw(1, 2);
  dw << 7.0f, -0.25f;
  const std::vector<Param<float>> params{{"a", &w, &dw}};
  clip_by_value(params, 0.5);
  EXPECT_EQ(dw(0), 0.5f);
  EXPECT_EQ(dw(1), -0.25f);
  EXPECT_THROW(clip_by_value(params, 0.0), Error);
  EXPECT_THROW(clip_by_value(params, -2.0), Error);
}

}  // namespace
}  // namespace gradscope
