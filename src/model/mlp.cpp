#include "gradscope/model/mlp.hpp"

#include <algorithm>
#include <cmath>

#include "gradscope/core/error.hpp"
#include "gradscope/init/spectral_radius.hpp"
#include "gradscope/nn/dense.hpp"

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
}

template <typename Scalar>
Sequential<Scalar> build_mlp(const MlpSpec& spec, Rng& rng) {
  validate(spec);
  Sequential<Scalar> mlp;
  for (Index l = 1; l <= spec.depth; ++l) {
    const bool head = l == spec.depth;
    const Index in = l == 1 ? spec.inputs : spec.width;
    const Index out = head ? spec.outputs : spec.width;
    auto dense = std::make_unique<Dense<Scalar>>(in, out, spec.bias);
    // Every layer is initialised for the hidden activation, as a loop over nn.Linear modules
    // in PyTorch would do; the head has no activation of its own.
    initialize_dense(*dense, spec.init, spec.activation, spec.negative_slope, rng);
    if (spec.rho && in == out) scale_to_spectral_radius(dense->weight(), *spec.rho);
    mlp.add(std::move(dense));
    if (!head) mlp.add(std::make_unique<Activation<Scalar>>(spec.activation, spec.negative_slope));
  }
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
  constexpr double kMax = 1.8e19;  // just below 2^64
  return static_cast<std::uint64_t>(std::min(total, kMax));
}

template Sequential<float> build_mlp<float>(const MlpSpec&, Rng&);
template Sequential<double> build_mlp<double>(const MlpSpec&, Rng&);

}  // namespace gradscope
