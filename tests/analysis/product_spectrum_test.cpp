// Long Jacobian products: Lyapunov exponents, the singular values of the product, the log growth
// of one vector, checked where the answer is known in closed form or by a direct computation.
#include "gradscope/analysis/product_spectrum.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "gradscope/analysis/matrix_spectrum.hpp"
#include "gradscope/analysis/network_chain.hpp"
#include "gradscope/core/decompositions.hpp"
#include "gradscope/core/error.hpp"
#include "gradscope/core/random.hpp"
#include "gradscope/init/initializer.hpp"
#include "gradscope/model/mlp.hpp"

namespace gradscope {
namespace {

Matrix<double> random_orthogonal(Index n, Rng& rng) {
  Matrix<double> q(n, n);
  orthogonal(q, 1.0, rng);
  return q;
}

// J_l = rho Q_l: every direction is stretched by exactly rho at every factor.
TEST(ProductSpectrum, ScaledOrthogonalChainHasEveryExponentAtLogRho) {
  constexpr Index kWidth = 64;
  constexpr Index kDepth = 100;
  for (double rho : {0.9, 1.0, 1.1}) {
    Rng rng(7);
    std::vector<Matrix<double>> factors;
    for (Index l = 0; l < kDepth; ++l) factors.push_back(rho * random_orthogonal(kWidth, rng));
    const ExplicitChain chain(std::move(factors));

    const LyapunovSpectrum spectrum = lyapunov_spectrum(chain, 0, 11);
    ASSERT_EQ(spectrum.exponents.size(), static_cast<std::size_t>(kWidth));
    for (double lambda : spectrum.exponents) EXPECT_NEAR(lambda, std::log(rho), 1e-9) << rho;

    const Vector<double> g = rng.normal_matrix<double>(kWidth, 1);
    const double measured = backward_log_growth(chain, g).front() / kDepth;
    EXPECT_NEAR(measured, std::log(rho), 1e-9) << rho;
    const double forward = forward_log_growth(chain, g).back() / kDepth;
    EXPECT_NEAR(forward, std::log(rho), 1e-9) << rho;
  }
}

// At depth 20 the explicit product is still representable: its SVD is the reference. The factors
// are orthogonal times a diagonal in [0.6, 1.4], so the product's singular values spread over
// several decades but stay well within what a direct SVD resolves.
TEST(ProductSpectrum, QrRouteMatchesDirectSvdAtDepthTwenty) {
  constexpr Index kWidth = 24;
  constexpr Index kDepth = 20;
  Rng rng(3);
  std::vector<Matrix<double>> factors;
  Matrix<double> product = Matrix<double>::Identity(kWidth, kWidth);
  for (Index l = 0; l < kDepth; ++l) {
    const Vector<double> scale = rng.uniform_matrix<double>(kWidth, 1, 0.6, 1.4);
    factors.push_back(random_orthogonal(kWidth, rng) * scale.asDiagonal());
    product = factors.back() * product;
  }
  const ExplicitChain chain(std::move(factors));
  const Vector<double> direct = Eigen::JacobiSVD<Matrix<double>>(product).singularValues();
  std::cout << "direct SVD of the product: sigma_max " << direct(0) << ", sigma_min "
            << direct(kWidth - 1) << "\n";

  const ProductSingularValues qr_route = product_singular_values(chain, 0, 5);
  EXPECT_TRUE(qr_route.converged);
  ASSERT_EQ(qr_route.log_singular_values.size(), static_cast<std::size_t>(kWidth));
  double worst = 0.0;
  for (Index i = 0; i < kWidth; ++i) {
    const double sigma = std::exp(qr_route.log_singular_values[static_cast<std::size_t>(i)]);
    worst = std::max(worst, std::abs(sigma - direct(i)) / direct(i));
  }
  std::cout << "QR route: " << qr_route.passes << " passes, worst relative error " << worst << "\n";
  EXPECT_LT(worst, 1e-8);

  // The top few on their own (k < n) agree too.
  const ProductSingularValues top = product_singular_values(chain, 3, 9);
  for (Index i = 0; i < 3; ++i) {
    EXPECT_NEAR(std::exp(top.log_singular_values[static_cast<std::size_t>(i)]) / direct(i), 1.0,
                1e-8);
  }
}

// A non-normal matrix: rho < 1 (eigenvalues 0.9 and 0.8) but ||A|| > 1. Its powers grow first
// (transient growth) and only later decay, with ||A^T||^(1/T) -> rho(A) (Gelfand's formula).
TEST(ProductSpectrum, NonNormalMatrixShowsTransientGrowthAndGelfandLimit) {
  Matrix<double> a(2, 2);
  a << 0.9, 5.0, 0.0, 0.8;
  const MatrixSpectrum single = matrix_spectrum(a);
  ASSERT_TRUE(single.spectral_radius.has_value());
  EXPECT_NEAR(*single.spectral_radius, 0.9, 1e-12);
  EXPECT_GT(single.spectral_norm, 1.0);

  constexpr Index kDepth = 1000;
  const ExplicitChain chain(std::vector<Matrix<double>>(kDepth, a));
  // ||A^t|| for t = 1 .. T, each from a product of t factors.
  double peak = 0.0;
  Index peak_at = 0;
  for (Index t : {1, 2, 5, 10, 20, 40}) {
    const ExplicitChain prefix(std::vector<Matrix<double>>(static_cast<std::size_t>(t), a));
    const double norm = std::exp(product_singular_values(prefix, 1, 1).log_singular_values[0]);
    if (norm > peak) {
      peak = norm;
      peak_at = t;
    }
  }
  std::cout << "transient growth: ||A^t|| peaks at " << peak << " (t = " << peak_at << ")\n";
  EXPECT_GT(peak, 10.0);

  const double log_norm = product_singular_values(chain, 1, 1).log_singular_values[0];
  const double gelfand = std::exp(log_norm / kDepth);
  std::cout << "||A^1000||^(1/1000) = " << gelfand << ", rho(A) = 0.9\n";
  EXPECT_NEAR(gelfand, 0.9, 1e-2);
  // The Lyapunov exponents of the power are the logs of |eigenvalues|.
  const LyapunovSpectrum spectrum = lyapunov_spectrum(chain, 0, 2);
  EXPECT_NEAR(spectrum.exponents[0], std::log(0.9), 1e-2);
  EXPECT_NEAR(spectrum.exponents[1], std::log(0.8), 1e-2);
}

// The workload's kind of net: a Gaussian tanh MLP in the ordered phase (sigma_w^2 = 1,
// sigma_b^2 = 0.05), whose stretches spread by about 3 per factor; `chain` is its `depth` hidden
// layers' Jacobians at one random input.
struct OrderedTanhNet {
  OrderedTanhNet(Index width, Index depth, std::uint64_t seed)
      : rng(seed),
        body(build(width, depth, rng)),
        chain(body, rng.normal_matrix<double>(width, 1), 1, depth) {}

  static Sequential<double> build(Index width, Index depth, Rng& rng) {
    MlpSpec spec = gaussian_mlp_spec(width, depth + 1, 1.0, 0.05);
    spec.outputs = 1;
    return build_mlp<double>(spec, rng);
  }

  Rng rng;
  Sequential<double> body;
  NetworkChain chain;
};

// The blocked route against its reference, one QR per factor.
TEST(ProductSpectrum, BlockedRouteMatchesThePerFactorReference) {
  const OrderedTanhNet net(64, 200, 4);
  const NetworkChain& chain = net.chain;

  const LyapunovSpectrum reference = lyapunov_spectrum(chain, 0, 9);
  const LyapunovSpectrum blocked = lyapunov_spectrum_blocked(chain, 0, 9);
  ASSERT_EQ(blocked.exponents.size(), reference.exponents.size());
  double worst = 0.0;
  for (std::size_t i = 0; i < reference.exponents.size(); ++i) {
    worst = std::max(worst, std::abs(blocked.exponents[i] - reference.exponents[i]));
  }
  const double spread = reference.exponents.front() - reference.exponents.back();
  std::cout << "spread " << spread << " per factor; " << blocked.qr_count << " QRs for "
            << blocked.factors << " factors; worst |difference| " << worst << "\n";
  EXPECT_EQ(reference.qr_count, 200);
  EXPECT_LT(worst, 1e-5);
  // 24 / spread factors per block at most (a few blocks done twice), and they grow to about that.
  EXPECT_LE(blocked.qr_count, 200 * spread / 24.0 * 1.5 + 2);
  EXPECT_GE(blocked.qr_count, 200 * spread / 24.0);
}

// Wider nets spread more per factor, and the blocks' rounding lands on the few weakest directions:
// those differ from the reference by up to about 1e-4 at width 256 (the spectrum workload's net,
// seed 1: 2e-4), every other exponent by less than 1e-7.
TEST(ProductSpectrum, BlockedRouteErrorSitsInTheWeakestExponents) {
  constexpr std::size_t kWeakest = 5;
  const OrderedTanhNet net(128, 100, 3);
  const LyapunovSpectrum reference = lyapunov_spectrum(net.chain, 0, 9);
  const LyapunovSpectrum blocked = lyapunov_spectrum_blocked(net.chain, 0, 9);
  ASSERT_EQ(blocked.exponents.size(), reference.exponents.size());
  const std::size_t bulk = reference.exponents.size() - kWeakest;
  double worst_bulk = 0.0;
  double worst = 0.0;
  for (std::size_t i = 0; i < reference.exponents.size(); ++i) {
    const double difference = std::abs(blocked.exponents[i] - reference.exponents[i]);
    worst = std::max(worst, difference);
    if (i < bulk) worst_bulk = std::max(worst_bulk, difference);
  }
  std::cout << blocked.qr_count << " QRs for " << blocked.factors << " factors; worst |difference| "
            << worst_bulk << " but for the " << kWeakest << " weakest, " << worst << " with them\n";
  EXPECT_LT(worst_bulk, 1e-7);
  EXPECT_LT(worst, 1e-3);
  EXPECT_LT(blocked.qr_count, 30);
}

// Orthogonal factors stretch nothing: blocks reach their longest, 64 factors.
TEST(ProductSpectrum, BlockedRouteTakesLongBlocksWhenNothingSpreads) {
  Rng rng(7);
  std::vector<Matrix<double>> factors;
  for (Index l = 0; l < 300; ++l) factors.push_back(1.1 * random_orthogonal(32, rng));
  const LyapunovSpectrum spectrum =
      lyapunov_spectrum_blocked(ExplicitChain(std::move(factors)), 0, 3);
  EXPECT_EQ(spectrum.qr_count, 1 + 5);  // one factor first, then 64 + 64 + 64 + 64 + 43
  for (double lambda : spectrum.exponents) EXPECT_NEAR(lambda, std::log(1.1), 1e-9);
}

// A spread beyond the budget in one factor leaves one factor per block: the reference itself,
// bit for bit.
TEST(ProductSpectrum, BlockedRouteFallsBackToOneFactorPerQr) {
  Rng rng(5);
  std::vector<Matrix<double>> factors;
  Vector<double> stretch = Vector<double>::LinSpaced(16, -25.0, 25.0).array().exp();
  for (Index l = 0; l < 40; ++l)
    factors.push_back(random_orthogonal(16, rng) * stretch.asDiagonal());
  const ExplicitChain chain(std::move(factors));
  const LyapunovSpectrum blocked = lyapunov_spectrum_blocked(chain, 0, 2);
  EXPECT_EQ(blocked.qr_count, 40);
  EXPECT_EQ(blocked.exponents, lyapunov_spectrum(chain, 0, 2).exponents);
  EXPECT_THROW(lyapunov_spectrum_blocked(chain, 0, 2, 0.0), Error);
}

// The singular values' passes take blocks of factors as far as their tolerance allows; a
// tolerance below double's rounding leaves one QR per factor, the reference.
TEST(ProductSpectrum, SingularValuePassesTakeTheBlocksTheirToleranceAllows) {
  const OrderedTanhNet net(48, 60, 6);
  const NetworkChain& chain = net.chain;

  const ProductSingularValues reference = product_singular_values(chain, 0, 8, 6, 1e-17);
  const ProductSingularValues blocked = product_singular_values(chain, 0, 8, 6, 1e-6);
  ASSERT_EQ(blocked.log_singular_values.size(), reference.log_singular_values.size());
  double worst = 0.0;
  for (std::size_t i = 0; i < reference.log_singular_values.size(); ++i) {
    worst = std::max(worst,
                     std::abs(blocked.log_singular_values[i] - reference.log_singular_values[i]));
  }
  std::cout << "reference: " << reference.passes << " passes, " << reference.qr_count
            << " QRs, last change " << reference.last_change << "; blocked: " << blocked.passes
            << " passes, " << blocked.qr_count << " QRs, last change " << blocked.last_change
            << "; worst |difference| " << worst << "\n";
  EXPECT_EQ(reference.qr_count, reference.passes * 60);
  EXPECT_EQ(blocked.passes, reference.passes);
  EXPECT_LE(blocked.qr_count, reference.qr_count / 3);
  EXPECT_LT(worst, 1e-8);  // the blocks' rounding stays well below the tolerance
}

TEST(ProductSpectrum, BadRequestsAreBadInput) {
  const ExplicitChain chain({Matrix<double>::Identity(3, 3), Matrix<double>::Ones(2, 3)});
  EXPECT_EQ(chain.min_width(), 2);
  EXPECT_THROW(lyapunov_spectrum(chain, 3, 1), Error);
  EXPECT_THROW(product_singular_values(chain, -1, 1), Error);
  EXPECT_THROW(ExplicitChain({Matrix<double>::Identity(3, 3), Matrix<double>::Ones(2, 2)}), Error);
  EXPECT_THROW(lyapunov_spectrum(ExplicitChain({}), 0, 1), Error);
  EXPECT_THROW(backward_log_growth(chain, Vector<double>::Zero(2)), Error);
  EXPECT_THROW(backward_log_growth(chain, Vector<double>::Ones(3)), Error);
}

}  // namespace
}  // namespace gradscope
