// Spectral radius (max |eigenvalue|) on matrices with known eigenvalues, and scaling to a
// requested radius: the knob for the vanishing (rho < 1), critical (1) and exploding (> 1) regimes.
#include "gradscope/init/spectral_radius.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>

#include "gradscope/core/decompositions.hpp"
#include "gradscope/core/error.hpp"
#include "gradscope/init/initializer.hpp"

namespace gradscope {
namespace {

TEST(SpectralRadius, DiagonalIsMaxAbsEntry) {
  Matrix<double> d = Matrix<double>::Zero(4, 4);
  d.diagonal() << 0.5, -3.0, 2.0, 0.0;
  EXPECT_NEAR(spectral_radius(d), 3.0, 1e-14);
  Matrix<float> f = d.cast<float>();
  EXPECT_NEAR(spectral_radius(f), 3.0, 1e-6);
}

// rho R(theta) has the complex pair rho e^{+-i theta}: the radius sees their modulus.
TEST(SpectralRadius, ScaledRotationHasRadiusRho) {
  for (const double theta : {0.3, std::numbers::pi / 2.0, 2.5}) {
    Matrix<double> r(2, 2);
    r << std::cos(theta), -std::sin(theta), std::sin(theta), std::cos(theta);
    const Matrix<double> m = 0.7 * r;
    EXPECT_NEAR(spectral_radius(m), 0.7, 1e-14) << theta;
  }
}

// Non-normal W: the eigenvalues are the diagonal, but the norm is ~ the off-diagonal entry.
// ||W^t|| then grows transiently before it decays, which the radius alone does not show.
TEST(SpectralRadius, NonNormalMatrixRadiusIsBelowItsNorm) {
  Matrix<double> u(3, 3);
  u << 0.5, 100.0, 0.0,  //
      0.0, -0.9, 50.0,   //
      0.0, 0.0, 0.2;
  EXPECT_NEAR(spectral_radius(u), 0.9, 1e-12);
  const Eigen::JacobiSVD<Matrix<double>> svd(u);
  EXPECT_GT(svd.singularValues()(0), 100.0);
}

TEST(SpectralRadius, ScaledOrthogonalHasRadiusGain) {
  Rng rng(30);
  Matrix<double> q(40, 40);
  orthogonal(q, 1.3, rng);
  EXPECT_NEAR(spectral_radius(q), 1.3, 1e-10);
}

// Circular law: a Gaussian W with variance sigma_w2 / n has its eigenvalues near the disc of
// radius sqrt(sigma_w2) (finite n pushes the edge out by a few %).
TEST(SpectralRadius, GaussianWeightsFollowTheCircularLaw) {
  Rng rng(31);
  Matrix<double> w(200, 200);
  gaussian_weights(w, 2.25, rng);
  EXPECT_NEAR(spectral_radius(w), 1.5, 0.15);
}

TEST(SpectralRadius, EmptyAndNonFiniteMatrices) {
  EXPECT_EQ(spectral_radius(Matrix<double>(0, 0)), 0.0);
  Matrix<double> m = Matrix<double>::Identity(3, 3);
  m(1, 2) = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(std::isnan(spectral_radius(m)));
  EXPECT_THROW(spectral_radius(Matrix<double>(Matrix<double>::Ones(2, 3))), Error);
}

TEST(ScaleToSpectralRadius, ReachesTheRequestedRho) {
  Rng rng(32);
  for (const double rho : {0.5, 1.0, 1.5}) {
    Matrix<double> w = rng.normal_matrix<double>(50, 50);
    const Matrix<double> before = w;
    scale_to_spectral_radius(w, rho);
    EXPECT_NEAR(spectral_radius(w), rho, 1e-10) << rho;
    // A scalar multiple of the original: direction unchanged.
    const double c = w(0, 0) / before(0, 0);
    EXPECT_GT(c, 0.0);
    EXPECT_LT((w - c * before).cwiseAbs().maxCoeff(), 1e-12);
  }
  Matrix<float> f = rng.normal_matrix<float>(20, 20);
  scale_to_spectral_radius(f, 0.9);
  EXPECT_NEAR(spectral_radius(f), 0.9, 1e-5);
}

TEST(ScaleToSpectralRadius, RhoZeroGivesZeroMatrix) {
  Matrix<double> w = Matrix<double>::Identity(3, 3);
  scale_to_spectral_radius(w, 0.0);
  EXPECT_EQ(w, Matrix<double>::Zero(3, 3));
}

TEST(ScaleToSpectralRadius, RejectsNonSquare) {
  Matrix<double> w = Matrix<double>::Ones(3, 4);
  try {
    scale_to_spectral_radius(w, 1.0);
    ADD_FAILURE() << "accepted a 3x4 matrix";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kRuntime);  // a GRADSCOPE_CHECK: an internal invariant
    EXPECT_NE(std::string(error.what()).find("3x4"), std::string::npos) << error.what();
  }
}

TEST(ScaleToSpectralRadius, RejectsRadiusZeroAsBadInput) {
  Matrix<double> zero = Matrix<double>::Zero(4, 4);
  // Strictly upper triangular (nilpotent): non-zero, but every eigenvalue is 0.
  Matrix<double> nilpotent(2, 2);
  nilpotent << 0.0, 1.0, 0.0, 0.0;
  for (Matrix<double>* w : {&zero, &nilpotent}) {
    const Matrix<double> before = *w;
    try {
      scale_to_spectral_radius(*w, 1.0);
      ADD_FAILURE() << "scaled a matrix with radius 0";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::kBadInput);
      EXPECT_NE(std::string(error.what()).find("spectral radius 0 to rho = 1"), std::string::npos)
          << error.what();
    }
    EXPECT_EQ(*w, before);  // untouched
  }
}

TEST(ScaleToSpectralRadius, RejectsNegativeOrNonFiniteRho) {
  Matrix<double> w = Matrix<double>::Identity(2, 2);
  for (const double rho :
       {-1.0, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
    try {
      scale_to_spectral_radius(w, rho);
      ADD_FAILURE() << "accepted rho = " << rho;
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::kBadInput);
    }
  }
  EXPECT_EQ(w, Matrix<double>::Identity(2, 2));
}

}  // namespace
}  // namespace gradscope
