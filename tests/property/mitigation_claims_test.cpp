// The article's depth mitigations (residual connections, normalisation), asserted at
// initialisation: width 256, batch 128, inputs N(0, 1), fixed seeds. Ratios are
// ||dL/dh_1|| / ||dL/dh_L|| (layer 1 next to the input).
#include <gtest/gtest.h>

#include <cmath>

#include "gradscope/model/mlp.hpp"
#include "gradscope/nn/mse_loss.hpp"
#include "gradscope/probe/probe_once.hpp"

namespace gradscope {
namespace {

constexpr std::uint64_t kSeeds[] = {0, 1, 2};

ProbeResult probe(const MlpSpec& spec, std::uint64_t seed) {
  Rng rng(seed);
  Network<double> network(build_mlp<double>(spec, rng));
  const Matrix<double> x = rng.normal_matrix<double>(spec.inputs, 128);
  Targets<double> targets;
  targets.values = rng.normal_matrix<double>(spec.outputs, 128);
  return probe_once<double>(network, x, targets, MseLoss<double>());
}

// 200 layers of tanh at sigma_w^2 = 1.0, sigma_b^2 = 0.05: the ordered phase of mean-field
// theory (chi_1 = 0.76 < 1), so the gradient shrinks by about sqrt(0.76) per layer.
MlpSpec deep_tanh() { return gaussian_mlp_spec(256, 200, 1.0, 0.05); }

TEST(MitigationClaims, PlainTwoHundredLayerTanhVanishes) {
  for (std::uint64_t seed : kSeeds) {
    const double ratio = probe(deep_tanh(), seed).ratio_first_last;
    std::printf("plain tanh depth 200 seed %llu: ratio %.2e\n",
                static_cast<unsigned long long>(seed), ratio);
    EXPECT_LT(ratio, 1e-6) << "seed " << seed;
  }
}

// h + alpha tanh(W h + b) with alpha = 1/sqrt(depth): the identity path keeps the scale.
TEST(MitigationClaims, ResidualBlocksScaledByOneOverSqrtDepthKeepTheScale) {
  for (std::uint64_t seed : kSeeds) {
    MlpSpec spec = deep_tanh();
    spec.residual = true;
    spec.alpha = 1.0 / std::sqrt(static_cast<double>(spec.depth));
    const ProbeResult result = probe(spec, seed);
    std::printf("residual tanh depth 200, alpha 1/sqrt(200), seed %llu: ratio %.3f\n",
                static_cast<unsigned long long>(seed), result.ratio_first_last);
    EXPECT_GE(result.ratio_first_last, 0.1) << "seed " << seed;
    EXPECT_LE(result.ratio_first_last, 10.0) << "seed " << seed;
    // The direct path: at every block, the skip part of dL/dh_{l-1} is dL/dh_l itself, and the
    // branch adds only a small correction.
    for (std::size_t l = 0; l + 1 < result.layers.size(); ++l) {
      const LayerRecord& block = result.layers[l];
      ASSERT_TRUE(block.skip_grad_norm && block.branch_grad_norm) << "layer " << l + 1;
      EXPECT_NEAR(*block.skip_grad_norm, block.grad_norm, 1e-12 * block.grad_norm);
      EXPECT_LT(*block.branch_grad_norm, *block.skip_grad_norm);
    }
  }
}

// Without the scale the branches add up and the gradient grows going back instead of vanishing
// (here by about 1.5e3 over 200 blocks: far slower than (1 + chi_1)^(L/2), because as the
// residual stream grows the tanh branches saturate).
TEST(MitigationClaims, UnscaledResidualStackGrows) {
  for (std::uint64_t seed : kSeeds) {
    MlpSpec spec = deep_tanh();
    spec.residual = true;
    spec.alpha = 1.0;
    const double ratio = probe(spec, seed).ratio_first_last;
    std::printf("residual tanh depth 200, alpha 1, seed %llu: ratio %.2e\n",
                static_cast<unsigned long long>(seed), ratio);
    EXPECT_GT(ratio, 10.0) << "seed " << seed;
  }
}

// 30 sigmoid layers, Xavier, zero biases; BatchNorm before each activation. Without it the
// ratio is ~1e-18 (sigma' <= 1/4 per layer); with it, ~2: on the way back BatchNorm divides by
// the batch standard deviation of the pre-activations, which makes up for sigma' and ||W||, and
// a deep BatchNorm MLP even grows its gradients toward the input (Yang et al. 2019).
TEST(MitigationClaims, BatchNormLiftsTheSigmoidRatioByAMillion) {
  for (std::uint64_t seed : kSeeds) {
    MlpSpec spec;
    spec.inputs = spec.width = 256;
    spec.outputs = 10;
    spec.depth = 30;
    spec.activation = ActivationKind::kSigmoid;
    spec.init.scheme = InitScheme::kXavierUniform;
    const double plain = probe(spec, seed).ratio_first_last;
    spec.norm = NormKind::kBatch;
    spec.norm_position = NormPosition::kPost;
    const double normalised = probe(spec, seed).ratio_first_last;
    std::printf("sigmoid depth 30 seed %llu: ratio %.2e plain, %.2e with batch norm (x %.1e)\n",
                static_cast<unsigned long long>(seed), plain, normalised, normalised / plain);
    EXPECT_GE(normalised, 1e6 * plain) << "seed " << seed;
  }
}

}  // namespace
}  // namespace gradscope
