#include "gradscope/analysis/mean_field.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <iostream>
#include <limits>
#include <vector>

#include "gradscope/core/error.hpp"
#include "gradscope/core/random.hpp"

namespace gradscope {
namespace {

constexpr ActivationKind kTanh = ActivationKind::kTanh;
constexpr ActivationKind kRelu = ActivationKind::kRelu;
constexpr ActivationKind kSigmoid = ActivationKind::kSigmoid;
constexpr ActivationKind kGelu = ActivationKind::kGelu;

TEST(MeanField, CriticalLineOfTanhMatchesThePublishedValues) {
  // Issue 5 (after Poole et al. 2016, Schoenholz et al. 2017): 1.761 at sigma_b^2 = 0.05 and
  // 2.505 at 0.3, within 0.5%; mpmath at 30 digits gives 1.7609546396067 and 2.5051271896798.
  const double at_005 = critical_sigma_w2(kTanh, 0.05);
  const double at_03 = critical_sigma_w2(kTanh, 0.3);
  std::cout << fmt::format(
      "critical sigma_w^2 (tanh): {:.12f} at sigma_b^2 = 0.05, {:.12f} at 0.3\n", at_005, at_03);
  RecordProperty("critical_tanh_0.05", std::to_string(at_005));
  RecordProperty("critical_tanh_0.3", std::to_string(at_03));
  EXPECT_NEAR(at_005, 1.761, 0.005 * 1.761);
  EXPECT_NEAR(at_03, 2.505, 0.005 * 2.505);
  EXPECT_NEAR(at_005, 1.76095463960674, 1e-9);
  EXPECT_NEAR(at_03, 2.50512718967976, 1e-8);
  // sigma_b^2 = 0: the signal dies out (q* = 0) below sigma_w^2 = 1, where chi_1 = sigma_w^2.
  EXPECT_NEAR(critical_sigma_w2(kTanh, 0.0), 1.0, 1e-9);
  EXPECT_NEAR(mean_field(kTanh, critical_sigma_w2(kTanh, 0.3), 0.3).chi1, 1.0, 1e-10);
}

TEST(MeanField, CriticalLineOfReluIsTwo) {
  for (double sigma_b2 : {0.0, 0.05, 0.3, 1.0}) {
    const double critical = critical_sigma_w2(kRelu, sigma_b2);
    EXPECT_NEAR(critical, 2.0, 1e-9) << sigma_b2;
    std::cout << "critical sigma_w^2 (relu) at sigma_b^2 = " << sigma_b2 << ": "
              << fmt::format("{:.17g}", critical) << "\n";
  }
}

TEST(MeanField, CriticalLineOfSigmoidNeedsTheLargerRules) {
  // q* ~ 46 there: sigmoid(sqrt(q*) z) needs ~thousands of nodes (mpmath: 103.12849399083).
  const double critical = critical_sigma_w2(kSigmoid, 0.05);
  std::cout << fmt::format("critical sigma_w^2 (sigmoid) at sigma_b^2 = 0.05: {:.12f}\n", critical);
  EXPECT_NEAR(critical, 103.1284939908265, 1e-6);
}

TEST(MeanField, AgreesWithHighPrecisionReferences) {
  // q* and chi_1 by mpmath (adaptive quadrature, findroot) at 20 digits.
  struct Case {
    ActivationKind act;
    double sigma_w2, sigma_b2, q_star, chi1;
  };
  for (const Case& c : {
           Case{kTanh, 1.0, 0.05, 0.19359252024529665, 0.7590316471853936},
           Case{kTanh, 3.0, 0.05, 1.4280084621964718, 1.2089344240611168},
           Case{kTanh, 4.0, 0.5, 2.815672490753369, 1.2019788320161207},
           Case{kGelu, 1.5, 0.05, 0.08768390467661974, 0.4461973860058559},
           Case{kSigmoid, 2.0, 0.05, 0.6095899199406127, 0.09934979974434726},
       }) {
    const MeanField m = mean_field(c.act, c.sigma_w2, c.sigma_b2);
    EXPECT_NEAR(m.q_star, c.q_star, 1e-9 * c.q_star) << activation_name(c.act) << c.sigma_w2;
    EXPECT_NEAR(m.chi1, c.chi1, 1e-9) << activation_name(c.act) << c.sigma_w2;
  }
}

TEST(MeanField, QStarIsAFixedPointOfTheLengthMap) {
  for (ActivationKind act : {kTanh, kRelu, kSigmoid, kGelu}) {
    for (double sigma_w2 : {0.5, 1.0, 1.5, 1.9}) {
      for (double sigma_b2 : {0.01, 0.05, 0.3}) {
        const double q = length_fixed_point(act, sigma_w2, sigma_b2);
        ASSERT_TRUE(std::isfinite(q));
        EXPECT_NEAR(length_map(act, sigma_w2, sigma_b2, q), q, 1e-12 * std::max(1.0, q))
            << activation_name(act) << " " << sigma_w2 << " " << sigma_b2;
        EXPECT_EQ(mean_field(act, sigma_w2, sigma_b2).q_star, q);
      }
    }
  }
  // Without bias, tanh's signal dies out at sigma_w^2 <= 1 and settles at q* > 0 above.
  EXPECT_EQ(length_fixed_point(kTanh, 0.9, 0.0), 0.0);
  const double q = length_fixed_point(kTanh, 2.0, 0.0);
  EXPECT_GT(q, 0.1);
  EXPECT_NEAR(length_map(kTanh, 2.0, 0.0, q), q, 1e-12);
}

TEST(MeanField, ReluFixedPointHasItsClosedForm) {
  for (double sigma_w2 : {0.5, 1.0, 1.9}) {
    for (double sigma_b2 : {0.0, 0.05, 0.3}) {
      EXPECT_NEAR(length_fixed_point(kRelu, sigma_w2, sigma_b2), sigma_b2 / (1.0 - sigma_w2 / 2.0),
                  1e-14)
          << sigma_w2 << " " << sigma_b2;
      // The quadrature's ReLU length map is exact (no node at the kink): sigma_w2 q / 2 + b.
      for (double q : {0.3, 1.0, 7.0, 1e6}) {
        EXPECT_NEAR(length_map(kRelu, sigma_w2, sigma_b2, q), sigma_w2 * q / 2.0 + sigma_b2,
                    1e-14 * std::max(1.0, q));
      }
      EXPECT_NEAR(chi1_at(kRelu, sigma_w2, 0.7), sigma_w2 / 2.0, 1e-15);
    }
  }
  // No finite fixed point from sigma_w^2 = 2 on (with bias): +inf, chaotic past 2.
  const MeanField critical = mean_field(kRelu, 2.0, 0.05);
  EXPECT_EQ(critical.q_star, std::numeric_limits<double>::infinity());
  EXPECT_EQ(critical.phase, MeanFieldPhase::kCritical);
  EXPECT_EQ(critical.xi_c, std::numeric_limits<double>::infinity());
  const MeanField exploding = mean_field(kRelu, 3.0, 0.05);
  EXPECT_EQ(exploding.q_star, std::numeric_limits<double>::infinity());
  EXPECT_NEAR(exploding.chi1, 1.5, 1e-15);
  EXPECT_EQ(exploding.phase, MeanFieldPhase::kChaotic);
  EXPECT_TRUE(std::isnan(exploding.xi_c));
  EXPECT_TRUE(std::isnan(exploding.trainable_depth));
}

TEST(MeanField, CorrelationFixedPointIsOneWhenOrderedAndBelowOneWhenChaotic) {
  for (ActivationKind act : {kTanh, kRelu, kSigmoid, kGelu}) {
    const MeanField ordered = mean_field(act, 1.0, 0.05);
    EXPECT_EQ(ordered.phase, MeanFieldPhase::kOrdered) << activation_name(act);
    EXPECT_EQ(ordered.c_star, 1.0);
    EXPECT_EQ(ordered.chi_c, ordered.chi1);
    EXPECT_NEAR(ordered.xi_c, -1.0 / std::log(ordered.chi1), 1e-12);
    EXPECT_NEAR(correlation_map(act, 1.0, 0.05, ordered.q_star, 1.0), 1.0, 1e-12);
  }
  for (double sigma_w2 : {2.0, 3.0, 4.0}) {
    const MeanField m = mean_field(kTanh, sigma_w2, 0.05);
    std::cout << "tanh sigma_w^2 = " << sigma_w2 << ": c* = " << m.c_star << ", chi_c = " << m.chi_c
              << ", xi_c = " << m.xi_c << "\n";
    EXPECT_EQ(m.phase, MeanFieldPhase::kChaotic);
    EXPECT_LT(m.c_star, 1.0);
    EXPECT_GT(m.c_star, 0.0);  // the bias keeps some correlation
    EXPECT_NEAR(correlation_map(kTanh, sigma_w2, 0.05, m.q_star, m.c_star), m.c_star, 1e-10);
    // chi_c is the slope of the correlation map at c* (Price's theorem), and < 1 there.
    const double h = 1e-5;
    const double slope = (correlation_map(kTanh, sigma_w2, 0.05, m.q_star, m.c_star + h) -
                          correlation_map(kTanh, sigma_w2, 0.05, m.q_star, m.c_star - h)) /
                         (2.0 * h);
    EXPECT_NEAR(slope, m.chi_c, 1e-6);
    EXPECT_LT(m.chi_c, 1.0);
    EXPECT_NEAR(m.xi_c, -1.0 / std::log(m.chi_c), 1e-12);
  }
  // An odd activation without bias decorrelates completely.
  EXPECT_NEAR(mean_field(kTanh, 2.0, 0.0).c_star, 0.0, 1e-12);
  // The correlation map is increasing and c* attracts it: iterating from 0 lands there.
  const MeanField m = mean_field(kTanh, 4.0, 0.1);  // chi_c ~ 0.87: 200 steps reach 1e-12
  double c = 0.0;
  for (int l = 0; l < 200; ++l) c = correlation_map(kTanh, 4.0, 0.1, m.q_star, c);
  EXPECT_NEAR(c, m.c_star, 1e-9);
}

TEST(MeanField, DepthScalesFollowTheirMaps) {
  // xi_q: the length map's slope at q* is exp(-1 / xi_q) (finite differences of the map).
  for (ActivationKind act : {kTanh, kSigmoid, kGelu}) {
    for (double sigma_w2 : {1.0, act == kGelu ? 1.8 : 2.5}) {  // GELU diverges past 2
      const MeanField m = mean_field(act, sigma_w2, 0.1);
      const double h = 1e-5 * m.q_star;
      const double slope = (length_map(act, sigma_w2, 0.1, m.q_star + h) -
                            length_map(act, sigma_w2, 0.1, m.q_star - h)) /
                           (2.0 * h);
      EXPECT_NEAR(slope, std::exp(-1.0 / m.xi_q), 1e-6) << activation_name(act) << sigma_w2;
      EXPECT_DOUBLE_EQ(m.trainable_depth, 6.0 * m.xi_c);
    }
  }
  // ReLU: phi'' = 0, so both scales are -1 / log(sigma_w^2 / 2).
  const MeanField relu = mean_field(kRelu, 1.5, 0.1);
  EXPECT_NEAR(relu.xi_q, -1.0 / std::log(0.75), 1e-12);
  EXPECT_NEAR(relu.xi_c, -1.0 / std::log(0.75), 1e-12);
}

TEST(MeanField, XiCDivergesAtCriticality) {
  const double critical = critical_sigma_w2(kTanh, 0.05);
  const MeanField m = mean_field(kTanh, critical, 0.05);
  std::cout << "tanh at its critical point: chi_1 = " << fmt::format("{:.15f}", m.chi1)
            << ", xi_c = " << m.xi_c << ", trainable depth = " << m.trainable_depth << "\n";
  EXPECT_EQ(m.phase, MeanFieldPhase::kCritical);
  EXPECT_GT(m.xi_c, 1e9);  // +inf, or astronomically large
  EXPECT_EQ(m.c_star, 1.0);
  // Approaching it, xi_c grows without bound from both sides.
  double previous_below = 0.0;
  double previous_above = 0.0;
  for (double offset : {0.3, 0.1, 0.03, 0.01}) {
    const MeanField below = mean_field(kTanh, critical - offset, 0.05);
    const MeanField above = mean_field(kTanh, critical + offset, 0.05);
    EXPECT_GT(below.xi_c, previous_below) << offset;
    EXPECT_GT(above.xi_c, previous_above) << offset;
    previous_below = below.xi_c;
    previous_above = above.xi_c;
  }
  EXPECT_GT(previous_below, 100.0);
  EXPECT_GT(previous_above, 100.0);
}

TEST(MeanField, PhasesAndTheirNames) {
  EXPECT_EQ(phase_name(MeanFieldPhase::kOrdered), "ordered");
  EXPECT_EQ(phase_name(MeanFieldPhase::kCritical), "critical");
  EXPECT_EQ(phase_name(MeanFieldPhase::kChaotic), "chaotic");
  EXPECT_EQ(mean_field(kTanh, 1.0, 0.05).phase, MeanFieldPhase::kOrdered);
  EXPECT_EQ(mean_field(kTanh, 3.0, 0.05).phase, MeanFieldPhase::kChaotic);
  EXPECT_EQ(mean_field(kTanh, 1.0, 0.0).phase, MeanFieldPhase::kCritical);  // chi_1 = 1 exactly
  EXPECT_EQ(mean_field(kRelu, 2.0 * (1.0 - 0.5 * kCriticalTolerance), 0.05).phase,
            MeanFieldPhase::kCritical);
  EXPECT_EQ(mean_field(kRelu, 2.0 * (1.0 - 2.0 * kCriticalTolerance), 0.05).phase,
            MeanFieldPhase::kOrdered);
}

TEST(MeanField, GeluIsBistableAtSmallBias) {
  // At sigma_b^2 = 0.05 the length map has a small attracting fixed point (ordered) that q_0 = 1
  // reaches below the boundary, and diverges above it: chi_1 jumps over 1.
  const double boundary = critical_sigma_w2(kGelu, 0.05);
  const MeanField below = mean_field(kGelu, boundary - 1e-6, 0.05);
  const MeanField above = mean_field(kGelu, boundary + 1e-6, 0.05);
  std::cout << "gelu at sigma_b^2 = 0.05: boundary sigma_w^2 = " << boundary
            << ", chi_1 jumps from " << below.chi1 << " to " << above.chi1 << "\n";
  EXPECT_TRUE(std::isfinite(below.q_star));
  EXPECT_EQ(below.phase, MeanFieldPhase::kOrdered);
  EXPECT_EQ(above.q_star, std::numeric_limits<double>::infinity());
  EXPECT_EQ(above.phase, MeanFieldPhase::kChaotic);
  // At larger bias the transition is continuous and sits at 2, as for ReLU.
  EXPECT_NEAR(critical_sigma_w2(kGelu, 0.3), 2.0, 1e-6);
}

TEST(MeanField, RejectsBadInput) {
  const auto bad_input = [](auto&& call) {
    try {
      call();
    } catch (const Error& e) {
      return e.kind() == ErrorKind::kBadInput;
    }
    return false;
  };
  EXPECT_TRUE(bad_input([] { mean_field(ActivationKind::kIdentity, 1.0, 0.05); }));
  EXPECT_TRUE(bad_input([] { mean_field(ActivationKind::kLeakyRelu, 1.0, 0.05); }));
  EXPECT_TRUE(bad_input([] { mean_field(kTanh, -1.0, 0.05); }));
  EXPECT_TRUE(bad_input([] { mean_field(kTanh, 1.0, -0.05); }));
  EXPECT_TRUE(bad_input([] { mean_field(kTanh, std::nan(""), 0.05); }));
  EXPECT_TRUE(bad_input([] { mean_field(kTanh, std::numeric_limits<double>::infinity(), 0.0); }));
  EXPECT_TRUE(bad_input([] { critical_sigma_w2(kTanh, -0.1); }));
  EXPECT_TRUE(bad_input([] { critical_sigma_w2(ActivationKind::kIdentity, 0.1); }));
  EXPECT_TRUE(bad_input([] { correlation_map(kTanh, 1.0, 0.05, 0.0, 0.5); }));
  // Beyond what the quadrature resolves (q* > 100 for tanh), rather than a wrong number.
  EXPECT_TRUE(bad_input([] { mean_field(kTanh, 1e4, 0.05); }));
  EXPECT_TRUE(bad_input([] { critical_sigma_w2(kTanh, 1e3); }));
  EXPECT_NO_THROW(mean_field(kRelu, 1e4, 0.05));
  EXPECT_TRUE(bad_input([] { correlation_map(kTanh, 1.0, 0.05, 0.2, 1.5); }));
}

// The measured side of chi_1: a random tanh network of width 1024 and depth 200 with
// W ~ N(0, sigma_w^2 / 1024), b ~ N(0, sigma_b^2), its input at the fixed point (pre-activations
// of variance q*), a random vector backpropagated from the top. Per layer the gradient's norm
// changes by log(||dh_{l-1}|| / ||dh_l||); mean field predicts (1/2) log chi_1 for its mean.
//
// The three points (ordered, critical, chaotic) share the Gaussian matrices G_l (W_l = sigma_w /
// sqrt(N) G_l; same bias draws), so G_l is drawn once (2 10^8 normals, the bulk of the time)
// and stored in float (800 MB; a double copy would take 1.6 GB); all arithmetic is in double.
TEST(MeanField, GradientGrowthOfAWideDeepTanhNetMatchesHalfLogChi1) {
  constexpr Index kWidth = 1024;
  constexpr int kDepth = 200;
  constexpr int kPoints = 3;
  const double sigma_b2 = 0.05;
  const std::array<double, kPoints> sigma_w2 = {1.0, critical_sigma_w2(kTanh, sigma_b2), 3.0};
  const std::array<const char*, kPoints> label = {"ordered", "critical", "chaotic"};
  std::array<MeanField, kPoints> theory;
  for (int p = 0; p < kPoints; ++p) theory[p] = mean_field(kTanh, sigma_w2[p], sigma_b2);

  Rng rng(derive_seed(20240905, kModelStream));
  std::vector<Matrix<float>> gaussian;  // G_l, (N, N)
  gaussian.reserve(kDepth);
  Matrix<double> bias(kWidth, kDepth);  // b_l / sigma_b, one column per layer
  for (int l = 0; l < kDepth; ++l) {
    gaussian.push_back(rng.normal_matrix<float>(kWidth, kWidth));
    for (Index i = 0; i < kWidth; ++i) bias(i, l) = rng.normal();
  }
  Vector<double> column_scale(kPoints);  // sigma_w / sqrt(N) per point
  for (int p = 0; p < kPoints; ++p) {
    column_scale[p] = std::sqrt(sigma_w2[p] / static_cast<double>(kWidth));
  }

  // Forward, the three points side by side as columns: z_l = W_l tanh(z_{l-1}) + b_l, with z_0 of
  // variance q* so the pass starts on the fixed point.
  std::vector<Matrix<double>> z(kDepth + 1, Matrix<double>(kWidth, kPoints));  // z_0 .. z_L
  for (Index i = 0; i < kWidth; ++i) {
    const double g = rng.normal();
    for (int p = 0; p < kPoints; ++p) z[0](i, p) = std::sqrt(theory[p].q_star) * g;
  }
  Matrix<double> w(kWidth, kWidth);
  for (int l = 1; l <= kDepth; ++l) {
    w = gaussian[l - 1].cast<double>();
    const Matrix<double> h = z[l - 1].array().tanh().matrix();
    z[l].noalias() = w * h;
    z[l] = z[l] * column_scale.asDiagonal();
    z[l].colwise() += std::sqrt(sigma_b2) * bias.col(l - 1);
  }

  // Backward from a random dL/dh_L: dz_l = tanh'(z_l) * dh_l, dh_{l-1} = W_l^T dz_l.
  Matrix<double> dh(kWidth, kPoints);
  const Vector<double> top = rng.normal_matrix<double>(kWidth, 1);
  for (int p = 0; p < kPoints; ++p) dh.col(p) = top;
  std::array<double, kPoints> sum_log_growth = {0.0, 0.0, 0.0};
  Matrix<double> dz(kWidth, kPoints);
  for (int l = kDepth; l >= 1; --l) {
    w = gaussian[l - 1].cast<double>();
    dz = (1.0 - z[l].array().tanh().square()).matrix().cwiseProduct(dh);
    Matrix<double> dh_below(kWidth, kPoints);
    dh_below.noalias() = w.transpose() * dz;
    dh_below = dh_below * column_scale.asDiagonal();
    for (int p = 0; p < kPoints; ++p) {
      sum_log_growth[p] += std::log(dh_below.col(p).stableNorm() / dh.col(p).stableNorm());
    }
    dh = dh_below;
  }

  for (int p = 0; p < kPoints; ++p) {
    const double measured = sum_log_growth[p] / kDepth;
    const double predicted = 0.5 * std::log(theory[p].chi1);
    std::cout << fmt::format(
        "{:<8} sigma_w^2 = {:.6f}: q* = {:.6f}, chi_1 = {:.6f}; mean log growth per layer "
        "measured {:+.5f}, predicted (1/2) log chi_1 = {:+.5f} (difference {:+.5f})\n",
        label[p], sigma_w2[p], theory[p].q_star, theory[p].chi1, measured, predicted,
        measured - predicted);
    RecordProperty(std::string(label[p]) + "_measured", fmt::format("{:.5f}", measured));
    RecordProperty(std::string(label[p]) + "_predicted", fmt::format("{:.5f}", predicted));
    EXPECT_NEAR(measured, predicted, 0.02) << label[p];
  }
}

}  // namespace
}  // namespace gradscope
