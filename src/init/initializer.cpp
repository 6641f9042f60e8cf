#include "gradscope/init/initializer.hpp"

#include <cmath>
#include <numbers>

#include "gradscope/core/decompositions.hpp"
#include "gradscope/core/error.hpp"

namespace gradscope {
namespace {

// W is (fan_out, fan_in), like nn.Linear.weight (PyTorch's _calculate_fan_in_and_fan_out).
template <typename Scalar>
double fan_in(const Matrix<Scalar>& w) {
  return static_cast<double>(w.cols());
}
template <typename Scalar>
double fan_out(const Matrix<Scalar>& w) {
  return static_cast<double>(w.rows());
}
template <typename Scalar>
double fan(const Matrix<Scalar>& w, FanMode mode) {
  return mode == FanMode::kFanIn ? fan_in(w) : fan_out(w);
}

// Every draw goes through Rng in double and is rounded once to Scalar, so a float W equals the
// double W of the same seed cast to float, entry for entry.
template <typename Scalar>
void fill_uniform(Matrix<Scalar>& w, double bound, Rng& rng) {
  w = rng.uniform_matrix<Scalar>(w.rows(), w.cols(), -bound, bound);
}
template <typename Scalar>
void fill_normal(Matrix<Scalar>& w, double stddev, Rng& rng) {
  w = rng.normal_matrix<Scalar>(w.rows(), w.cols(), stddev);
}

void check_variance(std::string_view name, double variance) {
  if (!(variance >= 0.0) || !std::isfinite(variance)) {
    throw_bad_input("gaussian init: {} must be finite and >= 0, got {}", name, variance);
  }
}

}  // namespace

InitScheme parse_init(const std::string& name) {
  if (name == "xavier" || name == "xavier_uniform" || name == "glorot" ||
      name == "glorot_uniform") {
    return InitScheme::kXavierUniform;
  }
  if (name == "xavier_normal" || name == "glorot_normal") return InitScheme::kXavierNormal;
  if (name == "he_uniform" || name == "kaiming_uniform") return InitScheme::kHeUniform;
  if (name == "he" || name == "he_normal" || name == "kaiming" || name == "kaiming_normal") {
    return InitScheme::kHeNormal;
  }
  if (name == "orthogonal") return InitScheme::kOrthogonal;
  if (name == "identity") return InitScheme::kIdentity;
  if (name == "gaussian") return InitScheme::kGaussian;
  throw_bad_input(
      "unknown init '{}' (expected xavier, xavier_uniform, xavier_normal, glorot, glorot_uniform, "
      "glorot_normal, he, he_uniform, he_normal, kaiming, kaiming_uniform, kaiming_normal, "
      "orthogonal, identity, gaussian)",
      name);
}

std::string_view init_name(InitScheme scheme) {
  switch (scheme) {
    case InitScheme::kXavierUniform:
      return "xavier_uniform";
    case InitScheme::kXavierNormal:
      return "xavier_normal";
    case InitScheme::kHeUniform:
      return "he_uniform";
    case InitScheme::kHeNormal:
      return "he_normal";
    case InitScheme::kOrthogonal:
      return "orthogonal";
    case InitScheme::kIdentity:
      return "identity";
    case InitScheme::kGaussian:
      return "gaussian";
  }
  return "unknown";
}

FanMode parse_fan_mode(const std::string& name) {
  if (name == "fan_in") return FanMode::kFanIn;
  if (name == "fan_out") return FanMode::kFanOut;
  throw_bad_input("unknown fan mode '{}' (expected fan_in, fan_out)", name);
}

double calculate_gain(ActivationKind activation, double negative_slope) {
  switch (activation) {
    case ActivationKind::kIdentity:
      return 1.0;
    case ActivationKind::kSigmoid:
      return 1.0;
    case ActivationKind::kTanh:
      return 5.0 / 3.0;
    case ActivationKind::kRelu:
      return std::numbers::sqrt2;
    case ActivationKind::kLeakyRelu:
      return std::sqrt(2.0 / (1.0 + negative_slope * negative_slope));
    case ActivationKind::kGelu:
      return std::numbers::sqrt2;  // see the header
  }
  return 1.0;
}

template <typename Scalar>
void xavier_uniform(Matrix<Scalar>& w, double gain, Rng& rng) {
  if (w.size() == 0) return;  // PyTorch: a no-op on zero-element tensors
  fill_uniform(w, gain * std::sqrt(6.0 / (fan_in(w) + fan_out(w))), rng);
}

template <typename Scalar>
void xavier_normal(Matrix<Scalar>& w, double gain, Rng& rng) {
  if (w.size() == 0) return;
  fill_normal(w, gain * std::sqrt(2.0 / (fan_in(w) + fan_out(w))), rng);
}

template <typename Scalar>
void he_uniform(Matrix<Scalar>& w, double gain, FanMode mode, Rng& rng) {
  if (w.size() == 0) return;
  fill_uniform(w, gain * std::sqrt(3.0 / fan(w, mode)), rng);
}

template <typename Scalar>
void he_normal(Matrix<Scalar>& w, double gain, FanMode mode, Rng& rng) {
  if (w.size() == 0) return;
  fill_normal(w, gain / std::sqrt(fan(w, mode)), rng);
}

template <typename Scalar>
void orthogonal(Matrix<Scalar>& w, double gain, Rng& rng) {
  if (w.size() == 0) return;
  const Index rows = w.rows();
  const Index cols = w.cols();
  // As torch.nn.init.orthogonal_: draw (rows, cols), QR the tall orientation. QR in double even
  // for float weights, so orthonormality holds to double precision before the single rounding.
  Matrix<double> a = rng.normal_matrix<double>(rows, cols);
  if (rows < cols) a.transposeInPlace();
  const Index m = a.rows();  // m >= n
  const Index n = a.cols();
  const Eigen::HouseholderQR<Matrix<double>> qr(a);
  Matrix<double> q = qr.householderQ() * Matrix<double>::Identity(m, n);  // thin Q, (m, n)
  // Q R = A fixes Q only up to the signs of its columns; making diag(R) >= 0 makes Q unique, and
  // then Q is Haar-distributed (Mezzadri 2007). torch's sign(0) = 0 would zero a column; +1 keeps
  // Q orthonormal (R_ii = 0 has probability 0 for a Gaussian A anyway).
  for (Index j = 0; j < n; ++j) {
    if (qr.matrixQR()(j, j) < 0.0) q.col(j) = -q.col(j);
  }
  if (rows < cols) q.transposeInPlace();
  w = (gain * q).template cast<Scalar>();
}

template <typename Scalar>
void identity(Matrix<Scalar>& w, double gain) {
  w.setIdentity();  // rectangular: ones on the main diagonal, as torch.nn.init.eye_
  w *= static_cast<Scalar>(gain);
}

template <typename Scalar>
void gaussian_weights(Matrix<Scalar>& w, double sigma_w2, Rng& rng) {
  check_variance("sigma_w2", sigma_w2);
  if (w.size() == 0) return;
  fill_normal(w, std::sqrt(sigma_w2 / fan_in(w)), rng);
}

template <typename Scalar>
void initialize_dense(Dense<Scalar>& layer, const InitSpec& spec, ActivationKind activation,
                      double negative_slope, Rng& rng) {
  // Checked before any draw, so a bad spec leaves the layer untouched.
  if (spec.gain && !std::isfinite(*spec.gain)) {
    throw_bad_input("init gain must be finite, got {}", *spec.gain);
  }
  const bool uses_variances =
      spec.scheme == InitScheme::kGaussian || spec.scheme == InitScheme::kOrthogonal;
  if (uses_variances) {
    check_variance("sigma_w2", spec.sigma_w2);
    check_variance("sigma_b2", spec.sigma_b2);
  }
  const double unit_gain = spec.gain.value_or(1.0);
  const double he_gain = spec.gain ? *spec.gain : calculate_gain(activation, negative_slope);
  Matrix<Scalar>& w = layer.weight();  // (out, in)
  switch (spec.scheme) {
    case InitScheme::kXavierUniform:
      xavier_uniform(w, unit_gain, rng);
      break;
    case InitScheme::kXavierNormal:
      xavier_normal(w, unit_gain, rng);
      break;
    case InitScheme::kHeUniform:
      he_uniform(w, he_gain, spec.fan_mode, rng);
      break;
    case InitScheme::kHeNormal:
      he_normal(w, he_gain, spec.fan_mode, rng);
      break;
    case InitScheme::kOrthogonal:
      orthogonal(w, spec.gain.value_or(std::sqrt(spec.sigma_w2)), rng);
      break;
    case InitScheme::kIdentity:
      identity(w, unit_gain);
      break;
    case InitScheme::kGaussian:
      gaussian_weights(w, spec.sigma_w2, rng);
      break;
  }
  if (!layer.has_bias()) return;
  Matrix<Scalar>& b = layer.bias();  // (out, 1)
  if (uses_variances && spec.sigma_b2 != 0.0) {
    fill_normal(b, std::sqrt(spec.sigma_b2), rng);
  } else {
    b.setZero();
  }
}

#define GRADSCOPE_INSTANTIATE_INIT(Scalar)                                                        \
  template void xavier_uniform<Scalar>(Matrix<Scalar>&, double, Rng&);                            \
  template void xavier_normal<Scalar>(Matrix<Scalar>&, double, Rng&);                             \
  template void he_uniform<Scalar>(Matrix<Scalar>&, double, FanMode, Rng&);                       \
  template void he_normal<Scalar>(Matrix<Scalar>&, double, FanMode, Rng&);                        \
  template void orthogonal<Scalar>(Matrix<Scalar>&, double, Rng&);                                \
  template void identity<Scalar>(Matrix<Scalar>&, double);                                        \
  template void gaussian_weights<Scalar>(Matrix<Scalar>&, double, Rng&);                          \
  template void initialize_dense<Scalar>(Dense<Scalar>&, const InitSpec&, ActivationKind, double, \
                                         Rng&);

GRADSCOPE_INSTANTIATE_INIT(float)
GRADSCOPE_INSTANTIATE_INIT(double)

#undef GRADSCOPE_INSTANTIATE_INIT

}  // namespace gradscope
