#include "gradscope/experiments/three_regimes.hpp"

#include <cmath>

#include "gradscope/core/statistics.hpp"
#include "gradscope/model/mlp.hpp"
#include "gradscope/nn/mse_loss.hpp"
#include "gradscope/probe/probe_once.hpp"

namespace gradscope {

std::vector<RegimeProfile> three_regimes(const ThreeRegimesSpec& spec) {
  std::vector<RegimeProfile> profiles;
  for (double rho : spec.rhos) {
    MlpSpec mlp;
    mlp.inputs = mlp.outputs = mlp.width = spec.width;
    mlp.depth = spec.depth;
    mlp.activation = ActivationKind::kIdentity;
    mlp.bias = false;
    // rho Q has every eigenvalue on the circle of radius rho: spectral radius rho exactly,
    // with no eigenvalue solve.
    mlp.init.scheme = InitScheme::kOrthogonal;
    mlp.init.gain = rho;
    // The same seed for every rho: the chains differ only in their scale.
    Rng rng(spec.seed);
    Network<double> network(build_mlp<double>(mlp, rng));
    Targets<double> targets;
    const Matrix<double> x = rng.normal_matrix<double>(spec.width, spec.batch);
    targets.values = rng.normal_matrix<double>(spec.width, spec.batch);
    const ProbeResult result = probe_once<double>(network, x, targets, MseLoss<double>());

    RegimeProfile profile;
    profile.rho = rho;
    std::vector<double> layer_number;
    for (const LayerRecord& layer : result.layers) {
      layer_number.push_back(static_cast<double>(layer_number.size() + 1));
      profile.log10_grad_norm.push_back(std::log10(layer.grad_norm));
    }
    profile.slope = fit_line(layer_number, profile.log10_grad_norm).slope;
    profile.expected_slope = -std::log10(rho);
    profiles.push_back(std::move(profile));
  }
  return profiles;
}

}  // namespace gradscope
