// torch.optim.SGD semantics on tiny parameters, against values derived by hand from
//   g = grad + wd p;  v = m v + g (v = g on step 1);  p -= lr (nesterov ? g + m v : v).
// Step-by-step arithmetic is in the comments so every expected number can be re-derived.
#include "gradscope/optim/sgd.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "gradscope/core/error.hpp"

namespace gradscope {
namespace {

constexpr double kTol = 1e-12;

OptimizerSpec sgd_spec(double lr, double momentum = 0.0, bool nesterov = false,
                       double weight_decay = 0.0) {
  OptimizerSpec spec;
  spec.kind = OptimizerKind::kSgd;
  spec.lr = lr;
  spec.momentum = momentum;
  spec.nesterov = nesterov;
  spec.weight_decay = weight_decay;
  return spec;
}

TEST(Sgd, PlainMatchesHandComputedSteps) {
  Matrix<double> p(1, 2);
  Matrix<double> g(1, 2);
  p << 1, -2;
  std::vector<Param<double>> params{{"weight", &p, &g}};
  Sgd<double> sgd(sgd_spec(0.1));

  g << 0.5, -1;  // p = [1 - 0.05, -2 + 0.1]
  sgd.step(params);
  EXPECT_NEAR(p(0, 0), 0.95, kTol);
  EXPECT_NEAR(p(0, 1), -1.9, kTol);

  g << 0.2, 0.4;  // p = [0.95 - 0.02, -1.9 - 0.04]
  sgd.step(params);
  EXPECT_NEAR(p(0, 0), 0.93, kTol);
  EXPECT_NEAR(p(0, 1), -1.94, kTol);

  g << -1, 3;  // p = [0.93 + 0.1, -1.94 - 0.3]
  sgd.step(params);
  EXPECT_NEAR(p(0, 0), 1.03, kTol);
  EXPECT_NEAR(p(0, 1), -2.24, kTol);
  // Plain SGD never touches the gradient.
  EXPECT_EQ(g(0, 0), -1.0);
  EXPECT_EQ(g(0, 1), 3.0);
}

// Two parameters: the velocity is kept per parameter position.
TEST(Sgd, MomentumMatchesHandComputedSteps) {
  Matrix<double> a(1, 1);
  Matrix<double> da(1, 1);
  Matrix<double> b(1, 1);
  Matrix<double> db(1, 1);
  a << 1;
  b << -2;
  std::vector<Param<double>> params{{"weight", &a, &da}, {"bias", &b, &db}};
  Sgd<double> sgd(sgd_spec(0.1, 0.9));

  // a: v = 1 (the first step sets v = g), a = 1 - 0.1.   b: v = -1, b = -2 + 0.1.
  da << 1;
  db << -1;
  sgd.step(params);
  EXPECT_NEAR(a(0, 0), 0.9, kTol);
  EXPECT_NEAR(b(0, 0), -1.9, kTol);

  // a: v = 0.9 + 2 = 2.9, a = 0.9 - 0.29.   b: v = -0.9 + 0.5 = -0.4, b = -1.9 + 0.04.
  da << 2;
  db << 0.5;
  sgd.step(params);
  EXPECT_NEAR(a(0, 0), 0.61, kTol);
  EXPECT_NEAR(b(0, 0), -1.86, kTol);

  // a: v = 2.61 - 1 = 1.61, a = 0.61 - 0.161.   b: v = -0.36 + 0.5 = 0.14, b = -1.86 - 0.014.
  da << -1;
  db << 0.5;
  sgd.step(params);
  EXPECT_NEAR(a(0, 0), 0.449, kTol);
  EXPECT_NEAR(b(0, 0), -1.874, kTol);
}

TEST(Sgd, NesterovMatchesHandComputedSteps) {
  Matrix<double> p(2, 1);
  Matrix<double> g(2, 1);
  p << 1, -2;
  std::vector<Param<double>> params{{"weight", &p, &g}};
  Sgd<double> sgd(sgd_spec(0.1, 0.9, /*nesterov=*/true));

  // [0]: v = 1, step = 1 + 0.9 * 1 = 1.9, p = 1 - 0.19.
  // [1]: v = -1, step = -1 - 0.9 = -1.9, p = -2 + 0.19.
  g << 1, -1;
  sgd.step(params);
  EXPECT_NEAR(p(0), 0.81, kTol);
  EXPECT_NEAR(p(1), -1.81, kTol);

  // [0]: v = 0.9 + 2 = 2.9, step = 2 + 2.61 = 4.61, p = 0.81 - 0.461.
  // [1]: v = -0.9 + 0.5 = -0.4, step = 0.5 - 0.36 = 0.14, p = -1.81 - 0.014.
  g << 2, 0.5;
  sgd.step(params);
  EXPECT_NEAR(p(0), 0.349, kTol);
  EXPECT_NEAR(p(1), -1.824, kTol);

  // [0]: v = 2.61 - 1 = 1.61, step = -1 + 1.449 = 0.449, p = 0.349 - 0.0449.
  // [1]: v = -0.36 + 0.5 = 0.14, step = 0.5 + 0.126 = 0.626, p = -1.824 - 0.0626.
  g << -1, 0.5;
  sgd.step(params);
  EXPECT_NEAR(p(0), 0.3041, kTol);
  EXPECT_NEAR(p(1), -1.8866, kTol);
}

TEST(Sgd, WeightDecayWithMomentumMatchesHandComputedSteps) {
  Matrix<double> p(1, 1);
  Matrix<double> g(1, 1);
  p << 1;
  std::vector<Param<double>> params{{"weight", &p, &g}};
  Sgd<double> sgd(sgd_spec(0.1, 0.9, false, /*weight_decay=*/0.1));

  g << 1;  // g' = 1 + 0.1 = 1.1, v = 1.1, p = 1 - 0.11
  sgd.step(params);
  EXPECT_NEAR(p(0, 0), 0.89, kTol);
  EXPECT_EQ(g(0, 0), 1.0);  // as torch: the decay is added out of place

  g << 2;  // g' = 2 + 0.089 = 2.089, v = 0.99 + 2.089 = 3.079, p = 0.89 - 0.3079
  sgd.step(params);
  EXPECT_NEAR(p(0, 0), 0.5821, kTol);

  g << 0;  // g' = 0.05821, v = 2.7711 + 0.05821 = 2.82931, p = 0.5821 - 0.282931
  sgd.step(params);
  EXPECT_NEAR(p(0, 0), 0.299169, kTol);
}

TEST(Sgd, WeightDecayWithoutMomentumMatchesHandComputedSteps) {
  Matrix<double> p(1, 1);
  Matrix<double> g(1, 1);
  p << -2;
  std::vector<Param<double>> params{{"weight", &p, &g}};
  Sgd<double> sgd(sgd_spec(0.1, 0.0, false, /*weight_decay=*/0.1));

  g << 1;  // g' = 1 - 0.2 = 0.8, p = -2 - 0.08
  sgd.step(params);
  EXPECT_NEAR(p(0, 0), -2.08, kTol);

  g << 0;  // g' = -0.208, p = -2.08 + 0.0208
  sgd.step(params);
  EXPECT_NEAR(p(0, 0), -2.0592, kTol);
}

TEST(Sgd, FloatMomentumMatchesHandComputedSteps) {
  Matrix<float> p(1, 1);
  Matrix<float> g(1, 1);
  p << 1.0f;
  std::vector<Param<float>> params{{"weight", &p, &g}};
  Sgd<float> sgd(sgd_spec(0.1, 0.9));
  g << 1.0f;
  sgd.step(params);
  g << 2.0f;
  sgd.step(params);
  g << -1.0f;
  sgd.step(params);
  EXPECT_NEAR(static_cast<double>(p(0, 0)), 0.449, 1e-6);
}

TEST(Sgd, NewLearningRateAppliesToTheNextStep) {
  Matrix<double> p(1, 1);
  Matrix<double> g(1, 1);
  p << 1;
  g << 1;
  std::vector<Param<double>> params{{"weight", &p, &g}};
  Sgd<double> sgd(sgd_spec(0.1));
  sgd.step(params);  // p = 0.9
  sgd.set_learning_rate(0.5);
  EXPECT_EQ(sgd.learning_rate(), 0.5);
  sgd.step(params);  // p = 0.9 - 0.5
  EXPECT_NEAR(p(0, 0), 0.4, kTol);
}

TEST(Sgd, RejectsAChangedParameterList) {
  Matrix<double> a = Matrix<double>::Ones(2, 1);
  Matrix<double> da = Matrix<double>::Ones(2, 1);
  Matrix<double> b = Matrix<double>::Ones(3, 1);
  Matrix<double> db = Matrix<double>::Ones(3, 1);
  for (double momentum : {0.0, 0.9}) {
    Sgd<double> sgd(sgd_spec(0.1, momentum));
    sgd.step({{"a", &a, &da}});
    EXPECT_THROW(sgd.step({{"a", &a, &da}, {"b", &b, &db}}), Error) << momentum;
    EXPECT_THROW(sgd.step({{"b", &b, &db}}), Error) << momentum;  // same count, new shape
    EXPECT_NO_THROW(sgd.step({{"a", &a, &da}})) << momentum;
  }
  Sgd<double> sgd(sgd_spec(0.1));
  EXPECT_THROW(sgd.step({{"a", &a, &db}}), Error);  // value and grad shapes differ
}

TEST(Sgd, RejectsInvalidSettingsAsBadInput) {
  const OptimizerSpec specs[] = {sgd_spec(-0.1), sgd_spec(0.1, -0.5),
                                 sgd_spec(0.1, 0.0, /*nesterov=*/true),
                                 sgd_spec(0.1, 0.9, false, -1.0)};
  for (const OptimizerSpec& spec : specs) {
    try {
      Sgd<double> sgd(spec);
      ADD_FAILURE() << "accepted lr=" << spec.lr << " momentum=" << spec.momentum
                    << " nesterov=" << spec.nesterov << " weight_decay=" << spec.weight_decay;
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::kBadInput) << error.what();
    }
  }
}

}  // namespace
}  // namespace gradscope
