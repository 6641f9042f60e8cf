// torch.optim.Adam semantics on tiny parameters, against values derived by hand from
//   g = grad + wd p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
//   p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
// The gradients are chosen so that the bias-corrected second moment is a perfect square, which
// keeps every expected value exact; the arithmetic is in the comments.
#include "gradscope/optim/adam.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "gradscope/core/error.hpp"

namespace gradscope {
namespace {

constexpr double kTol = 1e-12;

OptimizerSpec adam_spec(double lr, double beta1, double beta2, double eps,
                        double weight_decay = 0.0) {
  OptimizerSpec spec;
  spec.kind = OptimizerKind::kAdam;
  spec.lr = lr;
  spec.beta1 = beta1;
  spec.beta2 = beta2;
  spec.eps = eps;
  spec.weight_decay = weight_decay;
  return spec;
}

// torch's defaults (0.9, 0.999, 1e-8) with a constant gradient: bias correction makes
// m_hat = g and v_hat = g^2 at every step, so each step moves p by lr g / (|g| + eps).
// Without bias correction step 1 would move by 0.1 * 0.2 / sqrt(0.004) = 0.316 instead.
TEST(Adam, DefaultBetasFirstTwoStepsMatchHandComputedValues) {
  Matrix<double> p(1, 2);
  Matrix<double> g(1, 2);
  p << 1, -3;
  g << 2, -0.5;
  std::vector<Param<double>> params{{"weight", &p, &g}};
  Adam<double> adam(adam_spec(0.1, 0.9, 0.999, 1e-8));

  // [0]: m = 0.2, v = 0.004, m_hat = 0.2 / 0.1 = 2, v_hat = 0.004 / 0.001 = 4;
  //      p = 1 - 0.1 * 2 / (2 + 1e-8) = 1 - 0.1 / (1 + 5e-9) = 0.9000000005 (- 2.5e-18).
  // [1]: p = -3 + 0.1 * 0.5 / (0.5 + 1e-8) = -3 + 0.1 / (1 + 2e-8) = -2.900000002 (- 4e-17).
  adam.step(params);
  EXPECT_NEAR(p(0, 0), 0.9000000005, kTol);
  EXPECT_NEAR(p(0, 1), -2.900000002, kTol);

  // [0]: m = 0.18 + 0.2 = 0.38, 1 - 0.9^2 = 0.19, m_hat = 2;
  //      v = 0.003996 + 0.004 = 0.007996, 1 - 0.999^2 = 0.001999, v_hat = 4.
  adam.step(params);
  EXPECT_NEAR(p(0, 0), 0.800000001, kTol);
  EXPECT_NEAR(p(0, 1), -2.800000004, kTol);
}

// betas (0.5, 0.75), eps 0.5: the corrections are 1 - 0.5^t = 0.5, 0.75 and
// 1 - 0.75^t = 0.25, 0.4375; a large eps pins where eps is added (after sqrt(v_hat)).
TEST(Adam, SignChangeAndBiasCorrectionMatchHandComputedValues) {
  Matrix<double> p(2, 1);
  Matrix<double> g(2, 1);
  p << 1, 0;
  std::vector<Param<double>> params{{"weight", &p, &g}};
  Adam<double> adam(adam_spec(0.1, 0.5, 0.75, 0.5));

  // [0] g = 2: m = 1, v = 1, m_hat = 2, v_hat = 4, p = 1 - 0.1 * 2 / 2.5 = 0.92.
  // [1] g = 1: m = 0.5, v = 0.25, m_hat = 1, v_hat = 1, p = 0 - 0.1 * 1 / 1.5 = -1/15.
  g << 2, 1;
  adam.step(params);
  EXPECT_NEAR(p(0), 0.92, kTol);
  EXPECT_NEAR(p(1), -1.0 / 15.0, kTol);

  // [0] g = -2: m = 0.5 - 1 = -0.5, v = 0.75 + 1 = 1.75, m_hat = -2/3, v_hat = 4,
  //     p = 0.92 + 0.1 * (2/3) / 2.5 = 69/75 + 2/75 = 71/75.
  // [1] g = 2.5: m = 0.25 + 1.25 = 1.5, v = 0.1875 + 1.5625 = 1.75, m_hat = 2, v_hat = 4,
  //     p = -1/15 - 0.1 * 2 / 2.5 = -5/75 - 6/75 = -11/75.
  g << -2, 2.5;
  adam.step(params);
  EXPECT_NEAR(p(0), 71.0 / 75.0, kTol);
  EXPECT_NEAR(p(1), -11.0 / 75.0, kTol);
}

// L2 weight decay as torch.optim.Adam adds it (to the gradient, before the moments; not AdamW):
// the raw gradients are picked so that g + 0.5 p equals the previous test's [0] column.
TEST(Adam, WeightDecayIsAddedToTheGradient) {
  Matrix<double> p(1, 1);
  Matrix<double> g(1, 1);
  p << 1;
  std::vector<Param<double>> params{{"weight", &p, &g}};
  Adam<double> adam(adam_spec(0.1, 0.5, 0.75, 0.5, /*weight_decay=*/0.5));

  g << 1.5;  // g' = 1.5 + 0.5 * 1 = 2
  adam.step(params);
  EXPECT_NEAR(p(0, 0), 0.92, kTol);
  EXPECT_EQ(g(0, 0), 1.5);  // the gradient itself is left alone

  g << -2.46;  // g' = -2.46 + 0.5 * 0.92 = -2
  adam.step(params);
  EXPECT_NEAR(p(0, 0), 71.0 / 75.0, kTol);
}

// A zero gradient on step 1 leaves m = v = 0 and p unchanged (0 / (0 + eps)).
TEST(Adam, ZeroGradientDoesNotMoveTheParameter) {
  Matrix<double> p(1, 1);
  Matrix<double> g(1, 1);
  p << 0.25;
  g << 0;
  std::vector<Param<double>> params{{"weight", &p, &g}};
  Adam<double> adam(adam_spec(0.1, 0.9, 0.999, 1e-8));
  adam.step(params);
  EXPECT_EQ(p(0, 0), 0.25);
}

TEST(Adam, FloatMatchesHandComputedValues) {
  Matrix<float> p(1, 1);
  Matrix<float> g(1, 1);
  p << 1.0f;
  std::vector<Param<float>> params{{"weight", &p, &g}};
  Adam<float> adam(adam_spec(0.1, 0.5, 0.75, 0.5));
  g << 2.0f;
  adam.step(params);
  g << -2.0f;
  adam.step(params);
  EXPECT_NEAR(static_cast<double>(p(0, 0)), 71.0 / 75.0, 1e-6);
}

TEST(Adam, RejectsAChangedParameterList) {
  Matrix<double> a = Matrix<double>::Ones(2, 2);
  Matrix<double> da = Matrix<double>::Ones(2, 2);
  Matrix<double> b = Matrix<double>::Ones(4, 1);
  Matrix<double> db = Matrix<double>::Ones(4, 1);
  Adam<double> adam(adam_spec(0.1, 0.9, 0.999, 1e-8));
  adam.step({{"a", &a, &da}});
  EXPECT_THROW(adam.step({}), Error);
  EXPECT_THROW(adam.step({{"b", &b, &db}}), Error);  // same size, other shape
  EXPECT_NO_THROW(adam.step({{"a", &a, &da}}));
}

TEST(Adam, RejectsInvalidSettingsAsBadInput) {
  const OptimizerSpec specs[] = {adam_spec(-1.0, 0.9, 0.999, 1e-8),
                                 adam_spec(0.1, 1.0, 0.999, 1e-8), adam_spec(0.1, 0.9, -0.1, 1e-8),
                                 adam_spec(0.1, 0.9, 0.999, -1e-8),
                                 adam_spec(0.1, 0.9, 0.999, 1e-8, -0.1)};
  for (const OptimizerSpec& spec : specs) {
    try {
      Adam<double> adam(spec);
      ADD_FAILURE() << "accepted lr=" << spec.lr << " betas=" << spec.beta1 << "," << spec.beta2
                    << " eps=" << spec.eps << " weight_decay=" << spec.weight_decay;
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::kBadInput) << error.what();
    }
  }
}

}  // namespace
}  // namespace gradscope
