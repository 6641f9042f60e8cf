// The article's feed-forward claims, asserted at initialisation: width 256, batch 128, inputs
// N(0, 1), zero biases, five fixed seeds each (DESIGN.md: layer 1 next to the input; ratios are
// ||dL/dh_1|| / ||dL/dh_L||).
#include <gtest/gtest.h>

#include <cmath>

#include "gradscope/core/decompositions.hpp"
#include "gradscope/model/mlp.hpp"
#include "gradscope/nn/mse_loss.hpp"
#include "gradscope/probe/probe_once.hpp"

namespace gradscope {
namespace {

constexpr std::uint64_t kSeeds[] = {0, 1, 2, 3, 4};

struct Probed {
  ProbeResult result;
  std::vector<double> spectral_norms;   // ||W_l||_2, l = 1..L
  std::vector<double> max_derivatives;  // sup phi' of layer l's activation (1 for the head)
};

Probed probe_mlp(Index depth, ActivationKind act, InitScheme init, std::uint64_t seed) {
  MlpSpec spec;
  spec.inputs = spec.width = 256;
  spec.outputs = 10;
  spec.depth = depth;
  spec.activation = act;
  spec.init.scheme = init;
  Rng rng(seed);
  Network<double> network(build_mlp<double>(spec, rng));
  const Matrix<double> x = rng.normal_matrix<double>(spec.inputs, 128);
  Targets<double> targets;
  targets.values = rng.normal_matrix<double>(spec.outputs, 128);
  Probed probed;
  probed.result = probe_once<double>(network, x, targets, MseLoss<double>());
  for (Index l = 1; l <= depth; ++l) {
    const Matrix<double>& w = *network.body().layer(2 * (l - 1)).params().front().value;
    const Matrix<double> gram = w.transpose() * w;
    const Eigen::SelfAdjointEigenSolver<Matrix<double>> solver(gram, Eigen::EigenvaluesOnly);
    probed.spectral_norms.push_back(std::sqrt(solver.eigenvalues().maxCoeff()));
    probed.max_derivatives.push_back(l == depth ? 1.0 : max_derivative(act));
  }
  return probed;
}

TEST(ArticleClaims, TwentyLayerSigmoidVanishesBelowOneInABillion) {
  for (std::uint64_t seed : kSeeds) {
    const Probed p = probe_mlp(20, ActivationKind::kSigmoid, InitScheme::kXavierUniform, seed);
    EXPECT_LT(p.result.ratio_first_last, 1e-9) << "seed " << seed;
    EXPECT_GT(p.result.ratio_first_last, 0.0) << "seed " << seed;
    std::printf("sigmoid depth 20 seed %llu: ratio_first_last %.3e\n",
                static_cast<unsigned long long>(seed), p.result.ratio_first_last);
  }
}

// ||dL/dh_{l-1}|| <= (max sigma') ||W_l||_2 ||dL/dh_l||, per sample and so for the batch mean.
TEST(ArticleClaims, SigmoidObeysTheLayerByLayerBound) {
  for (std::uint64_t seed : kSeeds) {
    const Probed p = probe_mlp(20, ActivationKind::kSigmoid, InitScheme::kXavierUniform, seed);
    const std::vector<LayerRecord>& layers = p.result.layers;
    for (std::size_t l = 1; l < layers.size(); ++l) {  // l is 0-based here: layer l+1
      const double bound = p.max_derivatives[l] * p.spectral_norms[l] * layers[l].grad_norm;
      EXPECT_LE(layers[l - 1].grad_norm, bound) << "seed " << seed << " layer " << l + 1;
      EXPECT_GT(layers[l - 1].grad_norm, 0.0);
    }
  }
}

TEST(ArticleClaims, FiftyLayerReluWithHeKeepsTheScale) {
  for (std::uint64_t seed : kSeeds) {
    const double ratio =
        probe_mlp(50, ActivationKind::kRelu, InitScheme::kHeNormal, seed).result.ratio_first_last;
    EXPECT_GE(ratio, 0.05) << "seed " << seed;
    EXPECT_LE(ratio, 20.0) << "seed " << seed;
  }
}

TEST(ArticleClaims, FiftyLayerReluWithXavierVanishes) {
  for (std::uint64_t seed : kSeeds) {
    EXPECT_LT(probe_mlp(50, ActivationKind::kRelu, InitScheme::kXavierUniform, seed)
                  .result.ratio_first_last,
              1e-5)
        << "seed " << seed;
  }
}

TEST(ArticleClaims, TanhWithXavierLiesBetweenSigmoidAndReluHe) {
  for (Index depth : {20, 50}) {
    for (std::uint64_t seed : kSeeds) {
      const double sigmoid =
          probe_mlp(depth, ActivationKind::kSigmoid, InitScheme::kXavierUniform, seed)
              .result.ratio_first_last;
      const double tanh = probe_mlp(depth, ActivationKind::kTanh, InitScheme::kXavierUniform, seed)
                              .result.ratio_first_last;
      const double relu = probe_mlp(depth, ActivationKind::kRelu, InitScheme::kHeNormal, seed)
                              .result.ratio_first_last;
      EXPECT_LT(sigmoid, tanh) << "depth " << depth << " seed " << seed;
      EXPECT_LT(tanh, relu) << "depth " << depth << " seed " << seed;
    }
  }
}

}  // namespace
}  // namespace gradscope
