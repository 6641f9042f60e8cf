#include "gradscope/nn/activation.hpp"

#include <cmath>
#include <numbers>

#include "gradscope/core/error.hpp"

namespace gradscope {

ActivationKind parse_activation(const std::string& name) {
  if (name == "identity" || name == "linear") return ActivationKind::kIdentity;
  if (name == "sigmoid") return ActivationKind::kSigmoid;
  if (name == "tanh") return ActivationKind::kTanh;
  if (name == "relu") return ActivationKind::kRelu;
  if (name == "leaky_relu" || name == "leaky-relu") return ActivationKind::kLeakyRelu;
  if (name == "gelu") return ActivationKind::kGelu;
  throw_bad_input(
      "unknown activation '{}' (expected identity, sigmoid, tanh, relu, leaky_relu, gelu)", name);
}

std::string_view activation_name(ActivationKind kind) {
  switch (kind) {
    case ActivationKind::kIdentity:
      return "identity";
    case ActivationKind::kSigmoid:
      return "sigmoid";
    case ActivationKind::kTanh:
      return "tanh";
    case ActivationKind::kRelu:
      return "relu";
    case ActivationKind::kLeakyRelu:
      return "leaky_relu";
    case ActivationKind::kGelu:
      return "gelu";
  }
  return "unknown";
}

double max_derivative(ActivationKind kind) {
  switch (kind) {
    case ActivationKind::kSigmoid:
      return 0.25;
    case ActivationKind::kGelu: {
      // phi'' = pdf(x) (2 - x^2) vanishes at x = sqrt(2).
      const double x = std::numbers::sqrt2;
      const double cdf = 0.5 * (1.0 + std::erf(x / std::numbers::sqrt2));
      const double pdf = std::exp(-0.5 * x * x) / std::sqrt(2.0 * std::numbers::pi);
      return cdf + x * pdf;
    }
    default:
      return 1.0;
  }
}

bool saturates(ActivationKind kind) {
  return kind == ActivationKind::kSigmoid || kind == ActivationKind::kTanh;
}

template <typename Scalar>
Activation<Scalar>::Activation(ActivationKind kind, double negative_slope)
    : kind_(kind), negative_slope_(negative_slope) {}

template <typename Scalar>
void Activation<Scalar>::forward(ConstRef x, Ref y, Saved<Scalar>& /*saved*/) const {
  const Scalar slope = static_cast<Scalar>(negative_slope_);
  switch (kind_) {
    case ActivationKind::kIdentity:
      y = x;
      break;
    case ActivationKind::kSigmoid:
      y.array() = x.array().logistic();
      break;
    case ActivationKind::kTanh:
      y.array() = x.array().tanh();
      break;
    case ActivationKind::kRelu:
      y.array() = x.array().max(Scalar(0));
      break;
    case ActivationKind::kLeakyRelu:
      y.array() = (x.array() > Scalar(0)).select(x.array(), slope * x.array());
      break;
    case ActivationKind::kGelu:
      y = x.unaryExpr([](Scalar v) {
        return v * Scalar(0.5) * (Scalar(1) + std::erf(v / std::numbers::sqrt2_v<Scalar>));
      });
      break;
  }
}

template <typename Scalar>
void Activation<Scalar>::derivative(ConstRef x, ConstRef y, Ref dphi) const {
  const Scalar slope = static_cast<Scalar>(negative_slope_);
  switch (kind_) {
    case ActivationKind::kIdentity:
      dphi.setOnes();
      break;
    case ActivationKind::kSigmoid:
      dphi.array() = y.array() * (Scalar(1) - y.array());
      break;
    case ActivationKind::kTanh:
      dphi.array() = Scalar(1) - y.array().square();
      break;
    case ActivationKind::kRelu:
      dphi.array() = (x.array() > Scalar(0)).template cast<Scalar>();
      break;
    case ActivationKind::kLeakyRelu:
      dphi.array() = (x.array() > Scalar(0))
                         .select(Scalar(1), Mat::Constant(x.rows(), x.cols(), slope).array());
      break;
    case ActivationKind::kGelu: {
      const Scalar inv_sqrt_2pi = Scalar(1) / std::sqrt(Scalar(2) * std::numbers::pi_v<Scalar>);
      dphi = x.unaryExpr([inv_sqrt_2pi](Scalar v) {
        const Scalar cdf = Scalar(0.5) * (Scalar(1) + std::erf(v / std::numbers::sqrt2_v<Scalar>));
        return cdf + v * inv_sqrt_2pi * std::exp(Scalar(-0.5) * v * v);
      });
      break;
    }
  }
}

template <typename Scalar>
void Activation<Scalar>::backward(ConstRef x, ConstRef y, const Saved<Scalar>& /*saved*/,
                                  ConstRef dy, Ref dx) {
  // The deep nets' activations in one pass over dx; the others write phi' and then multiply.
  switch (kind_) {
    case ActivationKind::kTanh:
      dx.array() = dy.array() * (Scalar(1) - y.array().square());
      return;
    case ActivationKind::kSigmoid:
      dx.array() = dy.array() * y.array() * (Scalar(1) - y.array());
      return;
    default:
      derivative(x, y, dx);
      dx.array() *= dy.array();
  }
}

template <typename Scalar>
std::unique_ptr<Layer<Scalar>> Activation<Scalar>::clone() const {
  return std::make_unique<Activation>(*this);
}

template <typename Scalar>
typename Activation<Scalar>::Mat Activation<Scalar>::jacobian(ConstRef x_sample) const {
  Mat y(x_sample.rows(), 1);
  Saved<Scalar> unused;
  forward(x_sample, y, unused);
  Mat dphi(x_sample.rows(), 1);
  derivative(x_sample, y, dphi);
  return dphi.col(0).asDiagonal();
}

template class Activation<float>;
template class Activation<double>;

}  // namespace gradscope
