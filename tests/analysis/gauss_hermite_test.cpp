#include "gradscope/analysis/gauss_hermite.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <numbers>

#include "gradscope/core/error.hpp"

namespace gradscope {
namespace {

// (2k - 1)!! = E[z^{2k}].
double double_factorial(int k) {
  double product = 1.0;
  for (int i = 2 * k - 1; i > 1; i -= 2) product *= i;
  return product;
}

TEST(GaussHermite, DefaultRuleIsEvenSymmetricAndNormalised) {
  const GaussHermite& rule = GaussHermite::standard();
  ASSERT_EQ(rule.size(), 100);
  EXPECT_NEAR(rule.weights().sum(), 1.0, 1e-15);
  for (Index i = 0; i < rule.size(); ++i) {
    EXPECT_GT(rule.weights()[i], 0.0);
    EXPECT_EQ(rule.nodes()[i], -rule.nodes()[rule.size() - 1 - i]) << i;
    EXPECT_EQ(rule.weights()[i], rule.weights()[rule.size() - 1 - i]) << i;
    if (i > 0) {
      EXPECT_LT(rule.nodes()[i - 1], rule.nodes()[i]);
    }
  }
}

TEST(GaussHermite, KnownFivePointRule) {
  // He_5 = x^5 - 10 x^3 + 15 x: nodes 0, +-sqrt(5 -+ sqrt(10)); weights (mass 1)
  // w = n! / (n He_{n-1}(x))^2 with He_4 = x^4 - 6 x^2 + 3, so 8/15 at 0.
  const GaussHermite rule(5);
  const double inner = std::sqrt(5.0 - std::sqrt(10.0));
  const double outer = std::sqrt(5.0 + std::sqrt(10.0));
  const double nodes[5] = {-outer, -inner, 0.0, inner, outer};
  for (int i = 0; i < 5; ++i) {
    EXPECT_NEAR(rule.nodes()[i], nodes[i], 1e-14) << i;
    const double x = nodes[i];
    const double he4 = x * x * x * x - 6.0 * x * x + 3.0;
    EXPECT_NEAR(rule.weights()[i], 120.0 / (25.0 * he4 * he4), 1e-14) << i;
  }
  EXPECT_NEAR(rule.weights()[2], 8.0 / 15.0, 1e-15);
}

TEST(GaussHermite, GaussianMomentsAreExact) {
  const GaussHermite& rule = GaussHermite::standard();
  for (int k = 0; k <= 12; ++k) {
    const double even = rule.expect([k](double z) { return std::pow(z, 2 * k); });
    EXPECT_NEAR(even / double_factorial(k), 1.0, 1e-12) << "E z^" << 2 * k;
    const double odd = rule.expect([k](double z) { return std::pow(z, 2 * k + 1); });
    EXPECT_EQ(odd, 0.0) << "E z^" << 2 * k + 1 << " cancels exactly by symmetry";
  }
  EXPECT_NEAR(rule.expect([](double z) { return z * z; }), 1.0, 1e-14);
  EXPECT_NEAR(rule.expect([](double z) { return z * z * z * z; }), 3.0, 1e-13);
}

TEST(GaussHermite, SmoothIntegrandsMatchHighPrecisionReferences) {
  // References by mpmath at 30 digits (adaptive quadrature over the real line).
  const GaussHermite& rule = GaussHermite::standard();
  const double tanh2 = rule.expect([](double z) { return std::tanh(z) * std::tanh(z); });
  EXPECT_NEAR(tanh2, 0.394294490397841174, 1e-10);
  const double sech4 = rule.expect([](double z) { return std::pow(1.0 / std::cosh(z), 4); });
  EXPECT_NEAR(sech4, 0.464402902448268242, 1e-8);
  // E cos(z) = e^{-1/2}, E exp(z) = e^{1/2}.
  EXPECT_NEAR(rule.expect([](double z) { return std::cos(z); }), std::exp(-0.5), 1e-14);
  EXPECT_NEAR(rule.expect([](double z) { return std::exp(z); }), std::exp(0.5), 1e-14);
  std::cout << fmt::format(
      "E tanh(z)^2 = {:.15f} (reference 0.394294490397841), E sech(z)^4 = {:.15f} (reference "
      "0.464402902448268)\n",
      tanh2, sech4);
}

TEST(GaussHermite, LargerRulesKeepTheAccuracyForWiderIntegrands) {
  // tanh(sqrt(q) z)^2 varies on the scale 1 / sqrt(q): ~100 q points keep the error put.
  struct Case {
    double q;
    double reference;  // mpmath
  };
  for (const Case& c : {Case{2.0, 0.5199757456639487}, Case{5.0, 0.668444885020111}}) {
    const double s = std::sqrt(c.q);
    const auto f = [s](double z) { return std::tanh(s * z) * std::tanh(s * z); };
    const GaussHermite& rule = GaussHermite::at_least(static_cast<Index>(100 * c.q));
    EXPECT_GE(rule.size(), static_cast<Index>(100 * c.q));
    EXPECT_NEAR(rule.expect(f), c.reference, 1e-9) << "q = " << c.q;
    EXPECT_GT(std::abs(GaussHermite::standard().expect(f) - c.reference), 1e-9)
        << "the default rule alone is not enough at q = " << c.q;
  }
  EXPECT_EQ(&GaussHermite::at_least(1), &GaussHermite::standard());
  EXPECT_EQ(GaussHermite::at_least(150).size(), 200);
  EXPECT_EQ(GaussHermite::at_least(1000000).size(), GaussHermite::kMaxPoints);
}

TEST(GaussHermite, ReluMomentsAreExactBySymmetry) {
  // No node at 0 (even count): the kink of ReLU costs nothing.
  const GaussHermite& rule = GaussHermite::standard();
  EXPECT_NEAR(rule.expect([](double z) { return z > 0.0 ? 1.0 : 0.0; }), 0.5, 1e-15);
  EXPECT_NEAR(rule.expect([](double z) { return z > 0.0 ? z * z : 0.0; }), 0.5, 1e-14);
}

TEST(GaussHermite, TwoDimensionalExpectations) {
  const GaussHermite& rule = GaussHermite::standard();
  EXPECT_NEAR(rule.expect2([](double, double) { return 1.0; }), 1.0, 1e-14);
  EXPECT_NEAR(rule.expect2([](double a, double b) { return a * a * b * b; }), 1.0, 1e-13);
  EXPECT_NEAR(rule.expect2([](double a, double b) { return (a + b) * (a + b); }), 2.0, 1e-13);
  EXPECT_EQ(rule.expect2([](double a, double b) { return a * b; }), 0.0);
  // E exp(a z1 + b z2) = exp((a^2 + b^2) / 2).
  EXPECT_NEAR(rule.expect2([](double z1, double z2) { return std::exp(0.5 * z1 - 0.3 * z2); }),
              std::exp(0.5 * (0.25 + 0.09)), 1e-14);
  // Correlated pair (u1, u2) with correlation c: E[u1^2 u2^2] = 1 + 2 c^2.
  const double c = 0.6;
  const double r = std::sqrt(1.0 - c * c);
  EXPECT_NEAR(rule.expect2([&](double z1, double z2) {
    const double u2 = c * z1 + r * z2;
    return z1 * z1 * u2 * u2;
  }),
              1.0 + 2.0 * c * c, 1e-13);
  // ReLU's arc-cosine kernel (Cho & Saul 2009): E[relu(u1) relu(u2)] =
  // (sqrt(1 - c^2) + (pi - arccos c) c) / (2 pi). The kink along u2 = 0 is off the grid, so the
  // tensor rule converges slowly here: a few 1e-4.
  const double arccos_kernel =
      (r + (std::numbers::pi - std::acos(c)) * c) / (2.0 * std::numbers::pi);
  EXPECT_NEAR(rule.expect2([&](double z1, double z2) {
    const double u2 = c * z1 + r * z2;
    return std::max(z1, 0.0) * std::max(u2, 0.0);
  }),
              arccos_kernel, 1e-3);
}

TEST(GaussHermite, RejectsBadSizes) {
  EXPECT_THROW((void)GaussHermite(0), Error);
  EXPECT_THROW((void)GaussHermite(GaussHermite::kMaxPoints + 1), Error);
  EXPECT_EQ(GaussHermite(1).nodes()[0], 0.0);
  EXPECT_EQ(GaussHermite(1).weights()[0], 1.0);
}

}  // namespace
}  // namespace gradscope
