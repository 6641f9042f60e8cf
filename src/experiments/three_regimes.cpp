#include "gradscope/experiments/three_regimes.hpp"

#include <cmath>

#include "gradscope/model/mlp.hpp"
#include "gradscope/nn/mse_loss.hpp"
#include "gradscope/probe/probe_once.hpp"

namespace gradscope {

namespace {

double least_squares_slope(const std::vector<double>& values) {
  const double n = static_cast<double>(values.size());
  if (values.size() < 2) return 0.0;
  double mean_x = (n + 1.0) / 2.0;
  double mean_y = 0.0;
  for (double v : values) mean_y += v / n;
  double sxy = 0.0;
  double sxx = 0.0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double dx = static_cast<double>(i + 1) - mean_x;
    sxy += dx * (values[i] - mean_y);
    sxx += dx * dx;
  }
  return sxy / sxx;
}

}  // namespace

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
    for (const LayerRecord& layer : result.layers) {
      profile.log10_grad_norm.push_back(std::log10(layer.grad_norm));
    }
    profile.slope = least_squares_slope(profile.log10_grad_norm);
    profile.expected_slope = -std::log10(rho);
    profiles.push_back(std::move(profile));
  }
  return profiles;
}

}  // namespace gradscope
