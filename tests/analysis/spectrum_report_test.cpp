// The spectrum of real models: network and recurrent Jacobian chains against the models' own
// Jacobians, the three ratio predictions against the backward pass, and the memory horizon of a
// tanh RNN against the horizon its measured per-step gradients show.
#include "gradscope/analysis/spectrum_report.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "gradscope/analysis/network_chain.hpp"
#include "gradscope/core/error.hpp"
#include "gradscope/model/mlp.hpp"
#include "gradscope/nn/mse_loss.hpp"
#include "gradscope/tasks/teacher_task.hpp"

namespace gradscope {
namespace {

MlpSpec small_spec(ActivationKind act) {
  MlpSpec spec;
  spec.inputs = 5;
  spec.outputs = 3;
  spec.width = 6;
  spec.depth = 5;
  spec.activation = act;
  return spec;
}

// The chain's factors multiply to the network's own Jacobian (Sequential::jacobian), for plain,
// residual and normalised networks.
TEST(NetworkChain, FactorsMultiplyToTheNetworksJacobian) {
  std::vector<std::pair<std::string, MlpSpec>> cases;
  cases.emplace_back("tanh", small_spec(ActivationKind::kTanh));
  cases.emplace_back("gelu", small_spec(ActivationKind::kGelu));
  MlpSpec residual = small_spec(ActivationKind::kTanh);
  residual.residual = true;
  residual.block_depth = 2;
  residual.alpha = 0.5;
  cases.emplace_back("residual", residual);
  MlpSpec layer_norm = small_spec(ActivationKind::kRelu);
  layer_norm.norm = NormKind::kLayer;
  layer_norm.norm_position = NormPosition::kPre;
  cases.emplace_back("layer norm pre", layer_norm);
  MlpSpec weight_norm = small_spec(ActivationKind::kSigmoid);
  weight_norm.norm = NormKind::kWeight;
  cases.emplace_back("weight norm", weight_norm);
  MlpSpec batch_norm = small_spec(ActivationKind::kTanh);
  batch_norm.norm = NormKind::kBatch;
  cases.emplace_back("batch norm (evaluation mode)", batch_norm);

  for (auto& [name, spec] : cases) {
    Rng rng(17);
    Sequential<double> body = build_mlp<double>(spec, rng);
    body.set_training(false);
    const Matrix<double> x = rng.normal_matrix<double>(spec.inputs, 1);
    const NetworkChain chain(body, x, 1, spec.depth);
    ASSERT_EQ(chain.length(), spec.depth) << name;
    Matrix<double> product = Matrix<double>::Identity(spec.inputs, spec.inputs);
    for (Index l = 0; l < chain.length(); ++l) product = chain.factor(l) * product;
    const Matrix<double> expected = body.jacobian(x);
    EXPECT_LT((product - expected).cwiseAbs().maxCoeff(), 1e-12 * expected.cwiseAbs().maxCoeff())
        << name;
    // J^T v agrees with the transpose of J v.
    const Matrix<double> v = rng.normal_matrix<double>(spec.width, 2);
    Matrix<double> out;
    chain.apply_transpose(2, v, out);
    EXPECT_LT((out - chain.factor(2).transpose() * v).cwiseAbs().maxCoeff(), 1e-12) << name;
  }
}

// A linear network with every hidden weight rho Q (Q orthogonal): J_l = rho Q_l exactly, so
// the article's rho^T, the singular values and the backward pass all give (L - 2) log10 rho.
TEST(SpectrumReport, LinearOrthogonalNetworkAgreesThreeWays) {
  for (double rho : {0.8, 1.0, 1.25}) {
    MlpSpec spec;
    spec.inputs = 16;
    spec.outputs = 4;
    spec.width = 16;
    spec.depth = 12;
    spec.activation = ActivationKind::kIdentity;
    spec.init.scheme = InitScheme::kOrthogonal;
    spec.rho = rho;
    Rng rng(2);
    Network<double> network(build_mlp<double>(spec, rng));
    TeacherTask<double> task(spec.inputs, spec.outputs, 4);
    Batch<double> batch;
    task.next_batch(32, batch);
    SpectrumOptions options;
    options.all_singular_values = true;
    const SpectrumReport report =
        analyse_network(network, batch.x, batch.targets, MseLoss<double>(), options);

    ASSERT_EQ(report.factors.size(), 12u);
    EXPECT_FALSE(report.factors.back().spectrum.spectral_radius.has_value());  // the 4x16 head
    const ProductSummary& p = report.product;
    const double expected = 10 * std::log10(rho);
    EXPECT_EQ(p.factors, 10);
    EXPECT_EQ(p.span, "layers 2..11");
    ASSERT_TRUE(p.predicted_log10_ratio.has_value());
    EXPECT_NEAR(*p.predicted_log10_ratio, expected, 1e-9) << rho;
    EXPECT_NEAR(p.lyapunov_log10_ratio, expected, 1e-9) << rho;
    EXPECT_NEAR(p.measured_log10_ratio, expected, 1e-9) << rho;
    EXPECT_NEAR(p.log10_sigma_max, expected, 1e-9);
    EXPECT_NEAR(p.log10_sigma_min, expected, 1e-9);
    for (double lambda : p.lyapunov) EXPECT_NEAR(lambda, std::log(rho), 1e-9);
    for (Index l = 1; l < 11; ++l) {
      EXPECT_NEAR(*report.factors[static_cast<std::size_t>(l)].spectrum.spectral_radius, rho, 1e-9);
    }
  }
}

// A deep tanh network at initialisation: the first/last ratio predicted from the product's
// singular values against the backward pass.
TEST(SpectrumReport, DeepTanhNetworkPredictionsTrackTheMeasuredRatio) {
  MlpSpec spec;
  spec.inputs = 64;
  spec.outputs = 10;
  spec.width = 64;
  spec.depth = 40;
  spec.activation = ActivationKind::kTanh;
  spec.init.scheme = InitScheme::kGaussian;
  spec.init.sigma_w2 = 1.0;
  spec.init.sigma_b2 = 0.05;
  Rng rng(8);
  Network<double> network(build_mlp<double>(spec, rng));
  TeacherTask<double> task(spec.inputs, spec.outputs, 9);
  Batch<double> batch;
  task.next_batch(64, batch);
  const SpectrumReport report =
      analyse_network(network, batch.x, batch.targets, MseLoss<double>(), SpectrumOptions{});
  const ProductSummary& p = report.product;
  std::cout << "tanh depth 40 (sigma_w^2 1, sigma_b^2 0.05): log10 ratio predicted (rho) "
            << *p.predicted_log10_ratio << ", lyapunov " << p.lyapunov_log10_ratio << ", measured "
            << p.measured_log10_ratio << "; lambda_1 " << p.lyapunov.front() << "\n";
  // The ordered phase vanishes, and the singular values predict by how much. The article's rho^T
  // says less: at width 64 a random matrix's largest |eigenvalue| sits beyond the circular law's
  // edge sqrt(chi_1), which the singular values of the product average out.
  EXPECT_LT(p.measured_log10_ratio, -2.0);
  EXPECT_NEAR(p.lyapunov_log10_ratio, p.measured_log10_ratio, 0.5);
  EXPECT_GT(*p.predicted_log10_ratio, p.measured_log10_ratio);
  std::cout << "singular values after the report's passes: converged "
            << p.singular_values_converged << ", last change " << p.singular_values_last_change
            << "\n";
  EXPECT_LT(p.singular_values_last_change, 0.05);
  EXPECT_GE(p.log10_sigma_max, p.lyapunov_log10_ratio);
}

TEST(SpectrumReport, BadRequestsAreBadInput) {
  MlpSpec spec = small_spec(ActivationKind::kTanh);
  Rng rng(1);
  Network<double> network(build_mlp<double>(spec, rng));
  TeacherTask<double> task(spec.inputs, spec.outputs, 4);
  Batch<double> batch;
  task.next_batch(4, batch);
  SpectrumOptions options;
  options.sample = 4;
  EXPECT_THROW(analyse_network(network, batch.x, batch.targets, MseLoss<double>(), options), Error);
  options.sample = 0;
  options.lyapunov = 7;  // the product acts on width 6
  EXPECT_THROW(analyse_network(network, batch.x, batch.targets, MseLoss<double>(), options), Error);
  spec.depth = 2;
  Network<double> shallow(build_mlp<double>(spec, rng));
  EXPECT_THROW(
      analyse_network(shallow, batch.x, batch.targets, MseLoss<double>(), SpectrumOptions{}),
      Error);
}

}  // namespace
}  // namespace gradscope
