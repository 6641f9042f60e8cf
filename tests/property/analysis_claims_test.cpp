// The geometric picture's claims, measured: a 10,000-layer product computed stably, and a tanh
// RNN's top Lyapunov exponent predicting how far back its gradient survives.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "gradscope/analysis/product_spectrum.hpp"
#include "gradscope/analysis/spectrum_report.hpp"
#include "gradscope/core/random.hpp"
#include "gradscope/init/initializer.hpp"
#include "gradscope/nn/mse_loss.hpp"
#include "gradscope/tasks/adding_task.hpp"

namespace gradscope {
namespace {

// A random tanh network 10,000 layers deep, width 128, in the ordered phase (sigma_w^2 = 1,
// sigma_b^2 = 0.05): the product of its Jacobians falls like e^(-1000) or so, far below double's
// smallest number, yet every exponent
// comes out finite and non-zero. The weights are drawn layer by layer from a seed when a factor
// is applied, so the test holds one layer at a time (the chain is matrix-free).
class StreamedTanhChain final : public JacobianChain {
 public:
  StreamedTanhChain(Index width, Index depth, double sigma_w2, double sigma_b2, std::uint64_t seed)
      : width_(width), sigma_w2_(sigma_w2), seed_(seed), derivative_(width, depth) {
    Rng rng(seed);
    Vector<double> h = rng.normal_matrix<double>(width, 1);
    for (Index l = 0; l < depth; ++l) {
      const Vector<double> bias = rng.normal_matrix<double>(width, 1, std::sqrt(sigma_b2));
      h = (weight(l) * h + bias).array().tanh();
      derivative_.col(l) = 1.0 - h.array().square();
    }
  }
  Index length() const override { return derivative_.cols(); }
  Index input_size(Index) const override { return width_; }
  Index output_size(Index) const override { return width_; }
  void apply(Index l, const Matrix<double>& v, Matrix<double>& out) const override {
    out = derivative_.col(l).asDiagonal() * (weight(l) * v);
  }
  void apply_transpose(Index l, const Matrix<double>& v, Matrix<double>& out) const override {
    out = weight(l).transpose() * (derivative_.col(l).asDiagonal() * v);
  }

 private:
  Matrix<double> weight(Index l) const {
    Rng rng(derive_seed(seed_, static_cast<std::uint64_t>(l) + 1));
    Matrix<double> w(width_, width_);
    gaussian_weights(w, sigma_w2_, rng);
    return w;
  }
  Index width_;
  double sigma_w2_;
  std::uint64_t seed_;
  Matrix<double> derivative_;  // (width, depth): tanh'(z_l) along the forward pass
};

TEST(AnalysisClaims, TenThousandLayerTanhNetworkHasFiniteExponents) {
  const StreamedTanhChain chain(128, 10000, 1.0, 0.05, 21);
  const LyapunovSpectrum spectrum = lyapunov_spectrum(chain, 0, 4);
  ASSERT_EQ(spectrum.exponents.size(), 128u);
  for (double lambda : spectrum.exponents) {
    EXPECT_TRUE(std::isfinite(lambda));
    EXPECT_NE(lambda, 0.0);
  }
  const double top = spectrum.exponents.front();
  std::cout << "10,000 tanh layers: lambda_1 = " << top
            << ", lambda_128 = " << spectrum.exponents.back() << " per layer; log10 ||P|| ~ "
            << top * 10000 / std::log(10.0) << "\n";
  EXPECT_LT(top, 0.0);                       // ordered phase: every direction shrinks
  EXPECT_LT(top * 10000, std::log(1e-308));  // the raw product would have underflowed
  // The exact log growth of one gradient through all 10,000 layers is finite too.
  Rng rng(5);
  const double growth = backward_log_growth(chain, rng.normal_matrix<double>(128, 1)).front();
  EXPECT_TRUE(std::isfinite(growth));
  EXPECT_NEAR(growth / 10000, top, 0.01);
}

struct RecurrentCase {
  double rho;
  SpectrumReport report;
};

RecurrentCase analyse_tanh_rnn(double rho, Index steps, std::uint64_t seed) {
  RecurrentSpec spec;
  spec.cell = CellKind::kRnnTanh;
  spec.inputs = 2;
  spec.outputs = 1;
  spec.hidden = 64;
  spec.rho = rho;
  Rng rng(seed);
  RecurrentModel<double> model(spec, rng);
  AddingTask<double> task(steps, seed + 100, /*test_size=*/1);
  SequenceBatch<double> batch;
  task.next_batch(32, batch);
  return {rho, analyse_recurrent(model, batch, MseLoss<double>(), SpectrumOptions{})};
}

// W_hh at spectral radius 0.9, 1.0, 1.5: the top Lyapunov exponents come out in that order, and
// where the gradient decays within the sequence, the horizon predicted from the top exponent is
// within a factor 2 of the one read off the measured per-step gradient norms.
TEST(AnalysisClaims, TanhRnnTopExponentFollowsRhoAndPredictsTheMemoryHorizon) {
  constexpr Index kSteps = 300;
  for (std::uint64_t seed : {0u, 1u}) {
    std::vector<RecurrentCase> cases;
    for (double rho : {0.9, 1.0, 1.5}) cases.push_back(analyse_tanh_rnn(rho, kSteps, seed));
    int compared = 0;
    for (const RecurrentCase& c : cases) {
      const ProductSummary& p = c.report.product;
      std::cout << "tanh rnn rho " << c.rho << " seed " << seed << ": lambda_1 "
                << p.lyapunov.front() << ", horizon predicted "
                << (p.predicted_horizon ? std::to_string(*p.predicted_horizon) : "none")
                << ", measured "
                << (p.measured_horizon ? std::to_string(*p.measured_horizon) : "none")
                << ", recommended K " << *p.recommended_window << "\n";
      EXPECT_EQ(c.report.factors.size(), static_cast<std::size_t>(kSteps - 1));
      if (p.predicted_horizon && p.measured_horizon) {
        const double ratio = *p.predicted_horizon / static_cast<double>(*p.measured_horizon);
        EXPECT_GT(ratio, 0.5) << c.rho;
        EXPECT_LT(ratio, 2.0) << c.rho;
        EXPECT_EQ(*p.recommended_window, static_cast<Index>(std::ceil(*p.predicted_horizon)));
        ++compared;
      }
    }
    EXPECT_LT(cases[0].report.product.lyapunov.front(), cases[1].report.product.lyapunov.front());
    EXPECT_LT(cases[1].report.product.lyapunov.front(), cases[2].report.product.lyapunov.front());
    EXPECT_GE(compared, 1);  // at least rho 0.9 decays within 300 steps
    ASSERT_TRUE(cases[0].report.product.predicted_horizon.has_value());
  }
}

}  // namespace
}  // namespace gradscope
