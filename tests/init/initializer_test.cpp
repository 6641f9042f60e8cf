// Distributions and scales of every scheme against torch.nn.init's formulas, determinism, gains,
// name parsing, and initialize_dense's choice of gain and bias.
#include "gradscope/init/initializer.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numbers>
#include <string>

#include "gradscope/core/error.hpp"

namespace gradscope {
namespace {

// A large W (fan_out = 400, fan_in = 300): 120000 draws, so the sample variance's relative
// standard error is ~0.4% (normal) or ~0.3% (uniform); 3% is > 7 standard errors.
constexpr Index kRows = 400;
constexpr Index kCols = 300;
constexpr double kVarianceTolerance = 0.03;

struct Moments {
  double mean;
  double variance;
  double max_abs;
  double within_one_sd;  // fraction of entries with |w - mean| < sd
};

template <typename Scalar>
Moments moments(const Matrix<Scalar>& w) {
  const Matrix<double> d = w.template cast<double>();
  const double n = static_cast<double>(d.size());
  const double mean = d.sum() / n;
  const double variance = (d.array() - mean).square().sum() / (n - 1.0);
  const double sd = std::sqrt(variance);
  const double within = static_cast<double>(((d.array() - mean).abs() < sd).count()) / n;
  return {mean, variance, d.cwiseAbs().maxCoeff(), within};
}

void expect_variance(const Moments& m, double expected) {
  EXPECT_NEAR(m.variance / expected, 1.0, kVarianceTolerance)
      << "variance " << m.variance << ", expected " << expected;
  // Mean: 5 standard errors of the sample mean.
  EXPECT_LT(std::abs(m.mean), 5.0 * std::sqrt(expected / (kRows * kCols)));
}

// P(|z| < 1) is 0.6827 for a normal and 1/sqrt(3) = 0.5774 for a uniform of the same variance:
// tells the two shapes apart.
constexpr double kNormalWithinOneSd = 0.682689;
constexpr double kUniformWithinOneSd = 0.577350;

template <typename Scalar>
void expect_uniform(const Matrix<Scalar>& w, double bound) {
  const Moments m = moments(w);
  expect_variance(m, bound * bound / 3.0);
  // Every entry inside [-a, a] (a rounded to Scalar once, as the entries are), and the bound
  // is nearly reached, so it is the bound and not a smaller one.
  EXPECT_LE(w.cwiseAbs().maxCoeff(), static_cast<Scalar>(bound));
  EXPECT_GT(m.max_abs, 0.999 * bound);
  EXPECT_NEAR(m.within_one_sd, kUniformWithinOneSd, 0.01);
}

template <typename Scalar>
void expect_normal(const Matrix<Scalar>& w, double stddev) {
  const Moments m = moments(w);
  expect_variance(m, stddev * stddev);
  EXPECT_NEAR(m.within_one_sd, kNormalWithinOneSd, 0.01);
  EXPECT_GT(m.max_abs, 3.5 * stddev);  // tails a uniform would not have
}

TEST(Initializer, XavierUniformBoundAndVariance) {
  Matrix<double> w(kRows, kCols);
  Rng rng(1);
  xavier_uniform(w, 1.0, rng);
  expect_uniform(w, std::sqrt(6.0 / (kRows + kCols)));
  xavier_uniform(w, 2.5, rng);
  expect_uniform(w, 2.5 * std::sqrt(6.0 / (kRows + kCols)));
}

TEST(Initializer, XavierNormalVariance) {
  Matrix<double> w(kRows, kCols);
  Rng rng(2);
  xavier_normal(w, 1.0, rng);
  expect_normal(w, std::sqrt(2.0 / (kRows + kCols)));
  xavier_normal(w, 5.0 / 3.0, rng);
  expect_normal(w, 5.0 / 3.0 * std::sqrt(2.0 / (kRows + kCols)));
}

TEST(Initializer, HeUniformBoundPerFanMode) {
  Matrix<double> w(kRows, kCols);
  Rng rng(3);
  const double gain = std::numbers::sqrt2;
  he_uniform(w, gain, FanMode::kFanIn, rng);
  expect_uniform(w, gain * std::sqrt(3.0 / kCols));
  he_uniform(w, gain, FanMode::kFanOut, rng);
  expect_uniform(w, gain * std::sqrt(3.0 / kRows));
}

TEST(Initializer, HeNormalVariancePerFanMode) {
  Matrix<double> w(kRows, kCols);
  Rng rng(4);
  const double gain = std::numbers::sqrt2;
  he_normal(w, gain, FanMode::kFanIn, rng);
  expect_normal(w, gain / std::sqrt(kCols));
  he_normal(w, gain, FanMode::kFanOut, rng);
  expect_normal(w, gain / std::sqrt(kRows));
}

TEST(Initializer, GaussianWeightVarianceIsSigmaW2OverFanIn) {
  Matrix<double> w(kRows, kCols);
  Rng rng(5);
  gaussian_weights(w, 2.0, rng);
  expect_normal(w, std::sqrt(2.0 / kCols));
  Matrix<double> zero(kRows, kCols);
  gaussian_weights(zero, 0.0, rng);
  EXPECT_EQ(zero.cwiseAbs().maxCoeff(), 0.0);
  EXPECT_THROW(gaussian_weights(w, -1.0, rng), Error);
}

TEST(Initializer, FloatSchemesHaveTheSameScales) {
  Matrix<float> w(kRows, kCols);
  Rng rng(6);
  he_uniform(w, 1.0, FanMode::kFanIn, rng);
  expect_uniform(w, std::sqrt(3.0 / kCols));
  xavier_normal(w, 1.0, rng);
  expect_normal(w, std::sqrt(2.0 / (kRows + kCols)));
}

TEST(Initializer, IdentityIsRectangularEyeTimesGain) {
  Matrix<double> wide = Matrix<double>::Constant(2, 4, 9.0);
  identity(wide, 3.0);
  Matrix<double> expected_wide(2, 4);
  expected_wide << 3, 0, 0, 0, 0, 3, 0, 0;
  EXPECT_EQ(wide, expected_wide);
  Matrix<float> tall = Matrix<float>::Constant(3, 2, 9.0F);
  identity(tall);
  Matrix<float> expected_tall(3, 2);
  expected_tall << 1, 0, 0, 1, 0, 0;
  EXPECT_EQ(tall, expected_tall);
}

// The contract with Rng: entries are drawn in column-major order, one Rng draw per entry, in
// double, then rounded to Scalar. Pinning it keeps old seeds reproducing old runs.
TEST(Initializer, DrawsColumnMajorFromTheRngStream) {
  Matrix<double> w(3, 2);
  Rng rng(42);
  xavier_uniform(w, 1.0, rng);
  const double bound = std::sqrt(6.0 / 5.0);
  Rng reference(42);
  for (Index j = 0; j < w.cols(); ++j) {
    for (Index i = 0; i < w.rows(); ++i) {
      EXPECT_EQ(w(i, j), reference.uniform(-bound, bound)) << i << "," << j;
    }
  }
  Matrix<double> v(2, 3);
  Rng rng_normal(43);
  he_normal(v, 2.0, FanMode::kFanOut, rng_normal);
  Rng reference_normal(43);
  for (Index j = 0; j < v.cols(); ++j) {
    for (Index i = 0; i < v.rows(); ++i) {
      EXPECT_EQ(v(i, j), 2.0 / std::sqrt(2.0) * reference_normal.normal());
    }
  }
}

template <typename Scalar>
Matrix<Scalar> draw(InitScheme scheme, std::uint64_t seed) {
  Dense<Scalar> dense(7, 5);
  Rng rng(seed);
  InitSpec spec;
  spec.scheme = scheme;
  spec.sigma_b2 = 0.5;
  initialize_dense(dense, spec, ActivationKind::kTanh, 0.01, rng);
  Matrix<Scalar> both(5, 8);
  both << dense.weight(), dense.bias();
  return both;
}

template <typename Scalar>
bool same_bytes(const Matrix<Scalar>& a, const Matrix<Scalar>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(Scalar) * static_cast<std::size_t>(a.size())) == 0;
}

TEST(Initializer, SameSeedGivesIdenticalBytes) {
  for (InitScheme scheme :
       {InitScheme::kXavierUniform, InitScheme::kXavierNormal, InitScheme::kHeUniform,
        InitScheme::kHeNormal, InitScheme::kOrthogonal, InitScheme::kGaussian}) {
    SCOPED_TRACE(std::string(init_name(scheme)));
    EXPECT_TRUE(same_bytes(draw<double>(scheme, 7), draw<double>(scheme, 7)));
    EXPECT_TRUE(same_bytes(draw<float>(scheme, 7), draw<float>(scheme, 7)));
    EXPECT_FALSE(same_bytes(draw<double>(scheme, 7), draw<double>(scheme, 8)));
    EXPECT_FALSE(same_bytes(draw<float>(scheme, 7), draw<float>(scheme, 8)));
    // float and double consume the same stream: the float W is the double W rounded once.
    const Matrix<float> rounded = draw<double>(scheme, 7).cast<float>();
    EXPECT_TRUE(same_bytes(draw<float>(scheme, 7), rounded));
  }
}

TEST(Initializer, CalculateGainMatchesPyTorch) {
  EXPECT_DOUBLE_EQ(calculate_gain(ActivationKind::kIdentity), 1.0);
  EXPECT_DOUBLE_EQ(calculate_gain(ActivationKind::kSigmoid), 1.0);
  EXPECT_DOUBLE_EQ(calculate_gain(ActivationKind::kTanh), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(calculate_gain(ActivationKind::kRelu), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(calculate_gain(ActivationKind::kGelu), std::sqrt(2.0));
  // torch.nn.init.calculate_gain('leaky_relu', 0.2) = 1.3867504905630728
  EXPECT_DOUBLE_EQ(calculate_gain(ActivationKind::kLeakyRelu, 0.2), std::sqrt(2.0 / 1.04));
  EXPECT_NEAR(calculate_gain(ActivationKind::kLeakyRelu, 0.2), 1.3867504905630728, 1e-15);
  EXPECT_DOUBLE_EQ(calculate_gain(ActivationKind::kLeakyRelu), std::sqrt(2.0 / 1.0001));
}

TEST(Initializer, ParseInitAcceptsNamesAndAliases) {
  EXPECT_EQ(parse_init("xavier"), InitScheme::kXavierUniform);
  EXPECT_EQ(parse_init("glorot"), InitScheme::kXavierUniform);
  EXPECT_EQ(parse_init("glorot_uniform"), InitScheme::kXavierUniform);
  EXPECT_EQ(parse_init("glorot_normal"), InitScheme::kXavierNormal);
  EXPECT_EQ(parse_init("he"), InitScheme::kHeNormal);
  EXPECT_EQ(parse_init("kaiming"), InitScheme::kHeNormal);
  EXPECT_EQ(parse_init("kaiming_normal"), InitScheme::kHeNormal);
  EXPECT_EQ(parse_init("kaiming_uniform"), InitScheme::kHeUniform);
  for (InitScheme scheme : {InitScheme::kXavierUniform, InitScheme::kXavierNormal,
                            InitScheme::kHeUniform, InitScheme::kHeNormal, InitScheme::kOrthogonal,
                            InitScheme::kIdentity, InitScheme::kGaussian}) {
    EXPECT_EQ(parse_init(std::string(init_name(scheme))), scheme) << init_name(scheme);
  }
  EXPECT_EQ(parse_fan_mode("fan_in"), FanMode::kFanIn);
  EXPECT_EQ(parse_fan_mode("fan_out"), FanMode::kFanOut);
}

TEST(Initializer, ParseRejectsUnknownNamesAsBadInput) {
  for (const std::string name : {"foo", "Xavier", "", "he-normal"}) {
    try {
      parse_init(name);
      ADD_FAILURE() << "accepted '" << name << "'";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::kBadInput);
      const std::string message = error.what();
      EXPECT_NE(message.find("'" + name + "'"), std::string::npos) << message;
      EXPECT_NE(message.find("xavier_uniform"), std::string::npos) << message;
      EXPECT_NE(message.find("orthogonal"), std::string::npos) << message;
    }
  }
  try {
    parse_fan_mode("fan_avg");
    ADD_FAILURE() << "accepted fan_avg";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kBadInput);
    EXPECT_NE(std::string(error.what()).find("fan_in, fan_out"), std::string::npos);
  }
}

// --- initialize_dense ---------------------------------------------------------------------

// Dense(in = 300, out = 400): weight is (400, 300), as kRows x kCols above.
Dense<double> big_dense(bool has_bias = true) {
  Dense<double> dense(kCols, kRows, has_bias);
  if (has_bias) dense.bias().setConstant(7.0);  // so "bias set to zero" is visible
  return dense;
}

TEST(InitializeDense, HeTakesTheGainOfTheActivation) {
  Dense<double> dense = big_dense();
  Rng rng(10);
  InitSpec spec;
  spec.scheme = InitScheme::kHeNormal;
  initialize_dense(dense, spec, ActivationKind::kRelu, 0.01, rng);
  expect_normal(dense.weight(), std::sqrt(2.0 / kCols));
  EXPECT_EQ(dense.bias().cwiseAbs().maxCoeff(), 0.0);

  spec.scheme = InitScheme::kHeUniform;
  spec.fan_mode = FanMode::kFanOut;
  initialize_dense(dense, spec, ActivationKind::kLeakyRelu, 0.2, rng);
  expect_uniform(dense.weight(), std::sqrt(2.0 / 1.04) * std::sqrt(3.0 / kRows));

  // tanh: PyTorch's kaiming_normal_(nonlinearity='tanh') uses gain 5/3.
  spec.scheme = InitScheme::kHeNormal;
  spec.fan_mode = FanMode::kFanIn;
  initialize_dense(dense, spec, ActivationKind::kTanh, 0.01, rng);
  expect_normal(dense.weight(), 5.0 / 3.0 / std::sqrt(kCols));
}

TEST(InitializeDense, ExplicitGainOverridesTheActivation) {
  Dense<double> dense = big_dense();
  Rng rng(11);
  InitSpec spec;
  spec.scheme = InitScheme::kHeNormal;
  spec.gain = 0.5;
  initialize_dense(dense, spec, ActivationKind::kRelu, 0.01, rng);
  expect_normal(dense.weight(), 0.5 / std::sqrt(kCols));

  spec.scheme = InitScheme::kXavierUniform;
  spec.gain = 3.0;
  initialize_dense(dense, spec, ActivationKind::kRelu, 0.01, rng);
  expect_uniform(dense.weight(), 3.0 * std::sqrt(6.0 / (kRows + kCols)));
}

TEST(InitializeDense, XavierIgnoresTheActivation) {
  Dense<double> dense = big_dense();
  Rng rng(12);
  InitSpec spec;
  spec.scheme = InitScheme::kXavierNormal;
  initialize_dense(dense, spec, ActivationKind::kRelu, 0.01, rng);
  expect_normal(dense.weight(), std::sqrt(2.0 / (kRows + kCols)));
  EXPECT_EQ(dense.bias().cwiseAbs().maxCoeff(), 0.0);
}

TEST(InitializeDense, OrthogonalAndIdentityUseUnitGainByDefault) {
  Dense<double> square(6, 6);
  square.bias().setConstant(7.0);
  Rng rng(13);
  InitSpec spec;
  spec.scheme = InitScheme::kOrthogonal;
  initialize_dense(square, spec, ActivationKind::kRelu, 0.01, rng);
  const Matrix<double> wtw = square.weight().transpose() * square.weight();
  EXPECT_TRUE(wtw.isApprox(Matrix<double>::Identity(6, 6), 1e-12));
  EXPECT_EQ(square.bias().cwiseAbs().maxCoeff(), 0.0);

  spec.scheme = InitScheme::kIdentity;
  initialize_dense(square, spec, ActivationKind::kRelu, 0.01, rng);
  EXPECT_EQ(square.weight(), Matrix<double>::Identity(6, 6));
  spec.gain = 0.9;
  initialize_dense(square, spec, ActivationKind::kRelu, 0.01, rng);
  EXPECT_EQ(square.weight(), 0.9 * Matrix<double>::Identity(6, 6));
}

// The mean-field orthogonal networks (Pennington et al. 2017): W = sqrt(sigma_w2) Q and
// b ~ N(0, sigma_b2); an explicit gain still wins over sigma_w2.
TEST(InitializeDense, OrthogonalTakesTheMeanFieldVariances) {
  Dense<double> square(400, 400);
  Rng rng(15);
  InitSpec spec;
  spec.scheme = InitScheme::kOrthogonal;
  spec.sigma_w2 = 1.5;
  spec.sigma_b2 = 0.05;
  initialize_dense(square, spec, ActivationKind::kTanh, 0.01, rng);
  const Matrix<double> wtw = square.weight().transpose() * square.weight();
  EXPECT_TRUE(wtw.isApprox(1.5 * Matrix<double>::Identity(400, 400), 1e-12));
  EXPECT_NEAR(moments(square.bias()).variance / 0.05, 1.0, 0.2);  // 400 draws: ~7% error

  spec.gain = 0.5;
  initialize_dense(square, spec, ActivationKind::kTanh, 0.01, rng);
  const Matrix<double> gained = square.weight().transpose() * square.weight();
  EXPECT_TRUE(gained.isApprox(0.25 * Matrix<double>::Identity(400, 400), 1e-12));

  spec.sigma_w2 = -1.0;
  EXPECT_THROW(initialize_dense(square, spec, ActivationKind::kTanh, 0.01, rng), Error);
}

TEST(InitializeDense, GaussianDrawsWeightAndBiasVariances) {
  // out = 20000 so the bias has enough entries for its variance (relative error ~1%).
  Dense<double> dense(20, 20000);
  Rng rng(14);
  InitSpec spec;
  spec.scheme = InitScheme::kGaussian;
  spec.sigma_w2 = 1.5;
  spec.sigma_b2 = 0.05;
  spec.gain = 100.0;  // gaussian has no gain: sigma_w2 sets the scale
  initialize_dense(dense, spec, ActivationKind::kTanh, 0.01, rng);
  const Moments w = moments(dense.weight());
  EXPECT_NEAR(w.variance / (1.5 / 20.0), 1.0, kVarianceTolerance);
  const Moments b = moments(dense.bias());
  EXPECT_NEAR(b.variance / 0.05, 1.0, 0.05);
  EXPECT_LT(std::abs(b.mean), 5.0 * std::sqrt(0.05 / 20000.0));
  EXPECT_NEAR(b.within_one_sd, kNormalWithinOneSd, 0.02);
}

TEST(InitializeDense, GaussianWithZeroBiasVarianceGivesZeroBias) {
  Dense<double> dense(10, 10);
  dense.bias().setConstant(7.0);
  Rng rng(15);
  InitSpec spec;
  spec.scheme = InitScheme::kGaussian;
  initialize_dense(dense, spec, ActivationKind::kTanh, 0.01, rng);
  EXPECT_EQ(dense.bias().cwiseAbs().maxCoeff(), 0.0);
  EXPECT_GT(dense.weight().cwiseAbs().maxCoeff(), 0.0);
  // The bias drew nothing: the weight is exactly gaussian_weights on the same seed.
  Matrix<double> alone(10, 10);
  Rng same(15);
  gaussian_weights(alone, 1.0, same);
  EXPECT_EQ(dense.weight(), alone);
}

TEST(InitializeDense, LayerWithoutBiasGetsOnlyWeights) {
  Dense<float> dense(4, 3, /*has_bias=*/false);
  Rng rng(16);
  InitSpec spec;
  spec.scheme = InitScheme::kGaussian;
  spec.sigma_b2 = 1.0;
  initialize_dense(dense, spec, ActivationKind::kTanh, 0.01, rng);
  EXPECT_EQ(dense.bias().size(), 0);
  EXPECT_GT(dense.weight().cwiseAbs().maxCoeff(), 0.0F);
}

TEST(InitializeDense, RejectsBadSpecBeforeTouchingTheLayer) {
  Dense<double> dense(3, 3);
  dense.weight().setConstant(7.0);
  Rng rng(17);
  InitSpec spec;
  spec.scheme = InitScheme::kGaussian;
  spec.sigma_b2 = -1.0;
  try {
    initialize_dense(dense, spec, ActivationKind::kTanh, 0.01, rng);
    ADD_FAILURE() << "accepted sigma_b2 = -1";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kBadInput);
  }
  EXPECT_EQ(dense.weight(), Matrix<double>::Constant(3, 3, 7.0));
  spec.scheme = InitScheme::kXavierUniform;
  spec.gain = std::nan("");
  EXPECT_THROW(initialize_dense(dense, spec, ActivationKind::kTanh, 0.01, rng), Error);
}

}  // namespace
}  // namespace gradscope
