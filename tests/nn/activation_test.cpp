#include "gradscope/nn/activation.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "gradscope/core/error.hpp"
#include "gradscope/core/random.hpp"

namespace gradscope {
namespace {

Matrix<double> apply(ActivationKind kind, const Matrix<double>& x) {
  Activation<double> act(kind, 0.1);
  Matrix<double> y(x.rows(), x.cols());
  Saved<double> saved;
  act.forward(x, y, saved);
  return y;
}

Matrix<double> derivative(ActivationKind kind, const Matrix<double>& x) {
  Activation<double> act(kind, 0.1);
  const Matrix<double> y = apply(kind, x);
  Matrix<double> d(x.rows(), x.cols());
  act.derivative(x, y, d);
  return d;
}

TEST(Activation, KnownValues) {
  Matrix<double> x(3, 1);
  x << -2.0, 0.0, 1.5;
  EXPECT_NEAR(apply(ActivationKind::kSigmoid, x)(0), 1.0 / (1.0 + std::exp(2.0)), 1e-15);
  EXPECT_NEAR(apply(ActivationKind::kTanh, x)(2), std::tanh(1.5), 1e-15);
  EXPECT_EQ(apply(ActivationKind::kRelu, x)(0), 0.0);
  EXPECT_EQ(apply(ActivationKind::kRelu, x)(2), 1.5);
  EXPECT_NEAR(apply(ActivationKind::kLeakyRelu, x)(0), -0.2, 1e-15);
  // GELU(x) = x Phi(x); PyTorch's exact gelu(1.5) = 1.3997892...
  EXPECT_NEAR(apply(ActivationKind::kGelu, x)(2), 1.39978920, 1e-8);
  EXPECT_EQ(apply(ActivationKind::kIdentity, x), x);
}

TEST(Activation, MaxDerivativeIsTheSupremum) {
  const Matrix<double> grid = Vector<double>::LinSpaced(20001, -10.0, 10.0);
  for (ActivationKind kind : {ActivationKind::kSigmoid, ActivationKind::kTanh,
                              ActivationKind::kRelu, ActivationKind::kGelu}) {
    const double measured = derivative(kind, grid).maxCoeff();
    EXPECT_NEAR(measured, max_derivative(kind), 1e-6) << activation_name(kind);
  }
  EXPECT_DOUBLE_EQ(max_derivative(ActivationKind::kSigmoid), 0.25);
  EXPECT_NEAR(max_derivative(ActivationKind::kGelu), 1.1289, 1e-4);
}

TEST(Activation, SaturatingKinds) {
  EXPECT_TRUE(saturates(ActivationKind::kSigmoid));
  EXPECT_TRUE(saturates(ActivationKind::kTanh));
  EXPECT_FALSE(saturates(ActivationKind::kRelu));
  EXPECT_FALSE(saturates(ActivationKind::kGelu));
}

TEST(Activation, ParseRejectsUnknownNames) {
  EXPECT_EQ(parse_activation("leaky-relu"), ActivationKind::kLeakyRelu);
  try {
    parse_activation("swish");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_NE(std::string(e.what()).find("swish"), std::string::npos);
  }
}

TEST(Activation, FloatMatchesDouble) {
  Rng rng(3);
  const Matrix<double> x = rng.normal_matrix<double>(7, 5, 2.0);
  for (ActivationKind kind : {ActivationKind::kSigmoid, ActivationKind::kTanh,
                              ActivationKind::kGelu, ActivationKind::kLeakyRelu}) {
    Activation<float> act(kind, 0.1);
    const Matrix<float> xf = x.cast<float>();
    Matrix<float> y(7, 5);
    Saved<float> saved;
    act.forward(xf, y, saved);
    EXPECT_LT((y.cast<double>() - apply(kind, x)).cwiseAbs().maxCoeff(), 1e-6)
        << activation_name(kind);
  }
}

}  // namespace
}  // namespace gradscope
