// Building a multilayer perceptron from a spec.
//
// depth counts weight layers: depth - 1 hidden layers Dense(width) + activation, then a linear
// Dense(outputs) head. As children of a Sequential (and as PyTorch's nn.Sequential names them):
//   0: Dense(inputs -> width)  1: act  2: Dense(width -> width)  3: act ... 2(depth-1): Dense(->
//   outputs)
// so "layer l" of the article (l = 1..depth, input side first) is child 2(l-1) and its activation.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "gradscope/core/random.hpp"
#include "gradscope/init/initializer.hpp"
#include "gradscope/nn/activation.hpp"
#include "gradscope/nn/residual.hpp"
#include "gradscope/nn/sequential.hpp"

namespace gradscope {

enum class NormKind { kNone, kBatch, kLayer, kWeight };
enum class NormPosition { kPre, kPost };
// "none" | "batch" | "layer" | "weight"; bad-input Error otherwise.
NormKind parse_norm(const std::string& name);
std::string_view norm_name(NormKind kind);
// "pre" | "post"; bad-input Error otherwise.
NormPosition parse_norm_position(const std::string& name);

struct MlpSpec {
  Index inputs = 256;
  Index outputs = 10;
  Index width = 256;
  Index depth = 3;
  ActivationKind activation = ActivationKind::kTanh;
  double negative_slope = 0.01;  // leaky_relu only
  bool bias = true;
  InitSpec init;
  // When set, every square weight matrix is rescaled to this spectral radius after
  // initialisation (the article's rho; with identity activations the layer Jacobian is W).
  std::optional<double> rho;

  NormKind norm = NormKind::kNone;
  NormPosition norm_position = NormPosition::kPost;

  bool residual = false;
  Index block_depth = 1;  // Dense + activation pairs in each residual branch
  ResidualVariant residual_variant = ResidualVariant::kPreActivation;
  double alpha = 1.0;   // the branch scale
  bool rezero = false;  // alpha a parameter starting at 0 (ReZero / SkipInit)
};

// Bad-input Error when a size is below 1 or a value is out of range; names the field.
void validate(const MlpSpec& spec);

// The article's mean-field network: `depth` layers of `width` units (width inputs, 10 outputs
// unless the caller changes them), Gaussian weights of variance sigma_w2 / fan-in and biases of
// variance sigma_b2.
MlpSpec gaussian_mlp_spec(Index width, Index depth, double sigma_w2, double sigma_b2,
                          ActivationKind activation = ActivationKind::kTanh);

// The run log header's "model" object of an MLP (docs/run-log.md), all but `dtype`.
nlohmann::json to_json(const MlpSpec& spec);

template <typename Scalar>
Sequential<Scalar> build_mlp(const MlpSpec& spec, Rng& rng);

// Bytes a training step of this MLP needs: parameters, their gradients, initial copies and two
// optimiser moments, plus the activations and gradients of a batch.
std::uint64_t estimate_training_bytes(const MlpSpec& spec, Index batch, std::size_t scalar_bytes);

}  // namespace gradscope
