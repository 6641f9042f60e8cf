// Weight initialisation schemes, as PyTorch's torch.nn.init defines them.
//
// W is (fan_out, fan_in) = (rows, cols), like nn.Linear.weight.
//   xavier_uniform   W ~ U(-a, a),  a = gain sqrt(6 / (fan_in + fan_out))
//   xavier_normal    W ~ N(0, s^2), s = gain sqrt(2 / (fan_in + fan_out))
//   he_uniform       W ~ U(-a, a),  a = gain sqrt(3 / fan)      fan = fan_in or fan_out
//   he_normal        W ~ N(0, s^2), s = gain / sqrt(fan)
//   orthogonal       W = gain Q, Q from the QR of a Gaussian matrix, signs fixed by diag(R);
//                    gain defaults to sqrt(sigma_w^2) and b ~ N(0, sigma_b^2): the orthogonal
//                    networks of mean-field theory (Pennington et al. 2017), whose q*, chi_1 and
//                    critical line are the Gaussian ones. The defaults (1, 0) are PyTorch's.
//   identity         W = I (ones on the diagonal of a rectangular W)
//   gaussian         W ~ N(0, sigma_w^2 / fan_in), b ~ N(0, sigma_b^2)   (mean-field papers)
// Biases are zero for every scheme but gaussian and orthogonal with sigma_b^2 > 0. Same seed, same
// numbers, on every platform.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "gradscope/core/random.hpp"
#include "gradscope/nn/activation.hpp"
#include "gradscope/nn/dense.hpp"

namespace gradscope {

enum class InitScheme {
  kXavierUniform,
  kXavierNormal,
  kHeUniform,
  kHeNormal,
  kOrthogonal,
  kIdentity,
  kGaussian,
};
enum class FanMode { kFanIn, kFanOut };

// "xavier" (= xavier_uniform, as Glorot & Bengio 2010), "xavier_uniform", "xavier_normal",
// "glorot*" aliases, "he" (= he_normal, as He et al. 2015), "he_uniform", "he_normal",
// "kaiming*" aliases, "orthogonal", "identity", "gaussian". Bad-input Error otherwise.
InitScheme parse_init(const std::string& name);
std::string_view init_name(InitScheme scheme);
// "fan_in" | "fan_out"; bad-input Error otherwise.
FanMode parse_fan_mode(const std::string& name);

// torch.nn.init.calculate_gain: identity 1, sigmoid 1, tanh 5/3, relu sqrt(2),
// leaky_relu sqrt(2 / (1 + slope^2)). PyTorch has no gain for GELU; gradscope uses ReLU's sqrt(2)
// because GELU's positive half behaves like ReLU's.
double calculate_gain(ActivationKind activation, double negative_slope = 0.01);

struct InitSpec {
  InitScheme scheme = InitScheme::kXavierUniform;
  FanMode fan_mode = FanMode::kFanIn;  // he_* only
  // Unset: xavier uses 1 (PyTorch's default), orthogonal sqrt(sigma_w2) (1 by default), he_*
  // calculate_gain of the layer's activation (PyTorch's kaiming_* with nonlinearity = that
  // activation).
  std::optional<double> gain;
  double sigma_w2 = 1.0;  // gaussian and orthogonal
  double sigma_b2 = 0.0;  // gaussian and orthogonal
};

template <typename Scalar>
void xavier_uniform(Matrix<Scalar>& w, double gain, Rng& rng);
template <typename Scalar>
void xavier_normal(Matrix<Scalar>& w, double gain, Rng& rng);
template <typename Scalar>
void he_uniform(Matrix<Scalar>& w, double gain, FanMode mode, Rng& rng);
template <typename Scalar>
void he_normal(Matrix<Scalar>& w, double gain, FanMode mode, Rng& rng);
template <typename Scalar>
void orthogonal(Matrix<Scalar>& w, double gain, Rng& rng);
template <typename Scalar>
void identity(Matrix<Scalar>& w, double gain = 1.0);
// W ~ N(0, sigma_w2 / fan_in).
template <typename Scalar>
void gaussian_weights(Matrix<Scalar>& w, double sigma_w2, Rng& rng);

// Fills a Dense layer's weight by `spec` (the activation that follows the layer picks the He
// gain) and its bias (zero, or N(0, sigma_b2) for gaussian).
template <typename Scalar>
void initialize_dense(Dense<Scalar>& layer, const InitSpec& spec, ActivationKind activation,
                      double negative_slope, Rng& rng);

}  // namespace gradscope
