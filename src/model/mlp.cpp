#include "gradscope/model/mlp.hpp"

#include <algorithm>
#include <cmath>

#include "gradscope/core/error.hpp"
#include "gradscope/core/memory.hpp"
#include "gradscope/init/spectral_radius.hpp"
#include "gradscope/nn/batch_norm.hpp"
#include "gradscope/nn/dense.hpp"
#include "gradscope/nn/layer_norm.hpp"
#include "gradscope/nn/weight_norm.hpp"

namespace gradscope {

void validate(const MlpSpec& spec) {
  if (spec.depth < 1) throw_bad_input("depth must be at least 1, got {}", spec.depth);
  if (spec.width < 1) throw_bad_input("width must be at least 1, got {}", spec.width);
  if (spec.inputs < 1) throw_bad_input("inputs must be at least 1, got {}", spec.inputs);
  if (spec.outputs < 1) throw_bad_input("outputs must be at least 1, got {}", spec.outputs);
  if (spec.init.sigma_w2 < 0 || !std::isfinite(spec.init.sigma_w2)) {
    throw_bad_input("sigma_w2 must be a finite number >= 0, got {}", spec.init.sigma_w2);
  }
  if (spec.init.sigma_b2 < 0 || !std::isfinite(spec.init.sigma_b2)) {
    throw_bad_input("sigma_b2 must be a finite number >= 0, got {}", spec.init.sigma_b2);
  }
  if (spec.rho && (!(*spec.rho > 0) || !std::isfinite(*spec.rho))) {
    throw_bad_input("rho must be a finite number > 0, got {}", *spec.rho);
  }
  if (spec.block_depth < 1) {
    throw_bad_input("block-depth must be at least 1, got {}", spec.block_depth);
  }
  if (!std::isfinite(spec.alpha)) throw_bad_input("alpha must be finite, got {}", spec.alpha);
  if (spec.residual && spec.residual_variant == ResidualVariant::kPostActivation &&
      spec.activation == ActivationKind::kGelu) {
    throw_bad_input("post-activation residual blocks cannot use gelu (use --residual-variant pre)");
  }
}

MlpSpec gaussian_mlp_spec(Index width, Index depth, double sigma_w2, double sigma_b2,
                          ActivationKind activation) {
  MlpSpec spec;
  spec.inputs = spec.width = width;
  spec.depth = depth;
  spec.activation = activation;
  spec.init.scheme = InitScheme::kGaussian;
  spec.init.sigma_w2 = sigma_w2;
  spec.init.sigma_b2 = sigma_b2;
  return spec;
}

namespace {

template <typename Scalar>
std::unique_ptr<Layer<Scalar>> make_norm(NormKind kind, Index features) {
  if (kind == NormKind::kBatch) return std::make_unique<BatchNorm<Scalar>>(features);
  return std::make_unique<LayerNorm<Scalar>>(features);
}

// One hidden layer's children in order: (norm) product (norm) activation.
template <typename Scalar>
void add_hidden_layer(Sequential<Scalar>& into, const MlpSpec& spec, Index in, Index out,
                      Rng& rng) {
  Dense<Scalar> dense(in, out, spec.bias);
  // Every layer is initialised for the hidden activation, as a loop over nn.Linear modules in
  // PyTorch would do.
  initialize_dense(dense, spec.init, spec.activation, spec.negative_slope, rng);
  if (spec.rho && in == out) scale_to_spectral_radius(dense.weight(), *spec.rho);
  const bool normed = spec.norm == NormKind::kBatch || spec.norm == NormKind::kLayer;
  if (normed && spec.norm_position == NormPosition::kPre)
    into.add(make_norm<Scalar>(spec.norm, in));
  if (spec.norm == NormKind::kWeight) {
    into.add(std::make_unique<WeightNorm<Scalar>>(dense));
  } else {
    into.add(std::make_unique<Dense<Scalar>>(std::move(dense)));
  }
  if (normed && spec.norm_position == NormPosition::kPost) {
    into.add(make_norm<Scalar>(spec.norm, out));
  }
  into.add(std::make_unique<Activation<Scalar>>(spec.activation, spec.negative_slope));
}

template <typename Scalar>
std::unique_ptr<Layer<Scalar>> make_block(const MlpSpec& spec, Index in, Rng& rng) {
  Sequential<Scalar> branch;
  for (Index k = 0; k < spec.block_depth; ++k) {
    add_hidden_layer(branch, spec, k == 0 ? in : spec.width, spec.width, rng);
  }
  ResidualOptions options;
  options.variant = spec.residual_variant;
  options.alpha = spec.rezero ? 0.0 : spec.alpha;
  options.learnable_alpha = spec.rezero;
  options.activation = spec.activation;
  options.negative_slope = spec.negative_slope;
  if (in == spec.width) return std::make_unique<Residual<Scalar>>(std::move(branch), options);
  Dense<Scalar> projection(in, spec.width, /*has_bias=*/false);
  initialize_dense(projection, spec.init, ActivationKind::kIdentity, spec.negative_slope, rng);
  return std::make_unique<Residual<Scalar>>(std::move(branch), std::move(projection), options);
}

}  // namespace

NormKind parse_norm(const std::string& name) {
  if (name == "none") return NormKind::kNone;
  if (name == "batch") return NormKind::kBatch;
  if (name == "layer") return NormKind::kLayer;
  if (name == "weight") return NormKind::kWeight;
  throw_bad_input("unknown norm '{}' (expected none, batch, layer, weight)", name);
}

nlohmann::json to_json(const MlpSpec& spec) {
  return {{"model", "mlp"},
          {"depth", spec.depth},
          {"width", spec.width},
          {"inputs", spec.inputs},
          {"outputs", spec.outputs},
          {"act", activation_name(spec.activation)},
          {"init", init_name(spec.init.scheme)},
          {"sigma_w2", spec.init.sigma_w2},
          {"sigma_b2", spec.init.sigma_b2},
          {"rho", spec.rho ? nlohmann::json(*spec.rho) : nlohmann::json()},
          {"bias", spec.bias},
          {"residual", spec.residual},
          {"block_depth", spec.block_depth},
          {"alpha", spec.rezero ? nlohmann::json("rezero") : nlohmann::json(spec.alpha)},
          {"norm", norm_name(spec.norm)},
          {"norm_position", spec.norm_position == NormPosition::kPre ? "pre" : "post"}};
}

std::string_view norm_name(NormKind kind) {
  switch (kind) {
    case NormKind::kNone:
      return "none";
    case NormKind::kBatch:
      return "batch";
    case NormKind::kLayer:
      return "layer";
    case NormKind::kWeight:
      return "weight";
  }
  return "none";
}

NormPosition parse_norm_position(const std::string& name) {
  if (name == "pre") return NormPosition::kPre;
  if (name == "post") return NormPosition::kPost;
  throw_bad_input("unknown norm position '{}' (expected pre, post)", name);
}

template <typename Scalar>
Sequential<Scalar> build_mlp(const MlpSpec& spec, Rng& rng) {
  validate(spec);
  Sequential<Scalar> mlp;
  for (Index l = 1; l < spec.depth; ++l) {
    const Index in = l == 1 ? spec.inputs : spec.width;
    if (spec.residual) {
      mlp.add(make_block<Scalar>(spec, in, rng));
    } else {
      add_hidden_layer(mlp, spec, in, spec.width, rng);
    }
  }
  auto head = std::make_unique<Dense<Scalar>>(spec.depth == 1 ? spec.inputs : spec.width,
                                              spec.outputs, spec.bias);
  initialize_dense(*head, spec.init, spec.activation, spec.negative_slope, rng);
  if (spec.rho && head->in_features() == head->out_features()) {
    scale_to_spectral_radius(head->weight(), *spec.rho);
  }
  mlp.add(std::move(head));
  return mlp;
}

std::uint64_t estimate_training_bytes(const MlpSpec& spec, Index batch, std::size_t scalar_bytes) {
  // Counted in double: the point is to refuse sizes that overflow any integer type.
  double params = 0.0;
  double units = static_cast<double>(spec.inputs);
  for (Index l = 1; l <= spec.depth; ++l) {
    const double in = static_cast<double>(l == 1 ? spec.inputs : spec.width);
    const double out = static_cast<double>(l == spec.depth ? spec.outputs : spec.width);
    params += (in + 1.0) * out;
    units += out;
  }
  // parameters: value, gradient, initial copy, two optimiser moments;
  // units: pre-activation, activation and two gradient buffers per sample
  const double total =
      (5.0 * params + 4.0 * units * static_cast<double>(batch)) * static_cast<double>(scalar_bytes);
  return saturating_bytes(total);
}

template Sequential<float> build_mlp<float>(const MlpSpec&, Rng&);
template Sequential<double> build_mlp<double>(const MlpSpec&, Rng&);

}  // namespace gradscope
