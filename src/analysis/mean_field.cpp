#include "gradscope/analysis/mean_field.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "gradscope/analysis/gauss_hermite.hpp"
#include "gradscope/core/error.hpp"

namespace gradscope {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kEps = std::numeric_limits<double>::epsilon();

// The length map's fixed point is searched on [kMinQ, kDivergedQ]: below, q* = 0 (the signal dies
// out); above, q* = +inf. A variance 1e12 times the bias's is divergence for every practical
// purpose, and there the bias's share sigma_b2 / q of the map approaches the rounding error of the
// quadrature sum, so a crossing found beyond it could be an artefact of rounding.
constexpr double kMinQ = 1e-300;
constexpr double kDivergedQ = 1e12;
// Expectations "at q = 0" and "at q = +inf" are taken at these scales, which give the one-sided
// limits to double precision for the four activations (relu'(s z) = [z > 0] at any s > 0; tanh,
// sigmoid and gelu are smooth at 0 and flat or linear at infinity).
constexpr double kZeroLimitQ = 1e-300;
constexpr double kInfiniteLimitQ = 1e300;

double phi(ActivationKind kind, double x) {
  switch (kind) {
    case ActivationKind::kTanh:
      return std::tanh(x);
    case ActivationKind::kSigmoid:
      return 1.0 / (1.0 + std::exp(-x));
    case ActivationKind::kRelu:
      return x > 0.0 ? x : 0.0;
    case ActivationKind::kGelu:
      return x * 0.5 * std::erfc(-x / std::numbers::sqrt2);
    default:
      break;
  }
  GRADSCOPE_CHECK(false, "mean field: unsupported activation {}", activation_name(kind));
  return 0.0;
}

double normal_pdf(double x) {
  return std::exp(-0.5 * x * x) * (std::numbers::inv_sqrtpi / std::numbers::sqrt2);
}

double dphi(ActivationKind kind, double x) {
  switch (kind) {
    case ActivationKind::kTanh: {
      const double t = std::tanh(x);
      return 1.0 - t * t;
    }
    case ActivationKind::kSigmoid: {
      // s (1 - s) = e^-|x| / (1 + e^-|x|)^2, without the cancellation in 1 - s.
      const double e = std::exp(-std::abs(x));
      return e / ((1.0 + e) * (1.0 + e));
    }
    case ActivationKind::kRelu:
      return x > 0.0 ? 1.0 : 0.0;
    case ActivationKind::kGelu:
      return 0.5 * std::erfc(-x / std::numbers::sqrt2) + x * normal_pdf(x);
    default:
      break;
  }
  GRADSCOPE_CHECK(false, "mean field: unsupported activation {}", activation_name(kind));
  return 0.0;
}

double d2phi(ActivationKind kind, double x) {
  switch (kind) {
    case ActivationKind::kTanh: {
      const double t = std::tanh(x);
      return -2.0 * t * (1.0 - t * t);
    }
    case ActivationKind::kSigmoid:
      return dphi(kind, x) * (1.0 - 2.0 * phi(kind, x));
    case ActivationKind::kRelu:
      return 0.0;
    case ActivationKind::kGelu:
      return normal_pdf(x) * (2.0 - x * x);
    default:
      break;
  }
  GRADSCOPE_CHECK(false, "mean field: unsupported activation {}", activation_name(kind));
  return 0.0;
}

void check_activation(ActivationKind kind) {
  if (kind != ActivationKind::kTanh && kind != ActivationKind::kRelu &&
      kind != ActivationKind::kSigmoid && kind != ActivationKind::kGelu) {
    throw_bad_input("mean-field theory covers tanh, relu, sigmoid and gelu, not {}",
                    activation_name(kind));
  }
}

void check_variance(const char* name, double value) {
  if (!std::isfinite(value) || value < 0.0) {
    throw_bad_input("{} = {} (a variance: expected a finite number >= 0)", name, value);
  }
}

void check_inputs(ActivationKind kind, double sigma_w2, double sigma_b2) {
  check_activation(kind);
  check_variance("sigma_w2", sigma_w2);
  check_variance("sigma_b2", sigma_b2);
}

void check_length(double q) {
  if (!(q >= 0.0)) throw_bad_input("q = {} (a variance: expected a number >= 0)", q);
}

// Integrands phi(sqrt(q) z) vary on the scale 1 / sqrt(q) in z: the rule gets ~100 nodes per unit
// of q (gauss_hermite.hpp), at most kMaxPoints1d in 1-D (tanh at full accuracy up to q = 32;
// sigmoid, whose poles are twice as far from the real axis, needs a quarter of that, which covers
// its critical line near q* = 46; the 3200-point rule takes ~0.3 s to build, once) and
// kMaxPoints2d per axis in 2-D (4 10^4 evaluations; relative error ~1e-5 for tanh at q = 5, the
// top of `gradscope phase --grid`).
constexpr Index kMaxPoints1d = 3200;
constexpr Index kMaxPoints2d = 200;

const GaussHermite& rule_for(double q, Index max_points) {
  const double per_unit = static_cast<double>(GaussHermite::kDefaultPoints);
  const double units = std::clamp(q, 1.0, static_cast<double>(max_points) / per_unit);
  return GaussHermite::at_least(static_cast<Index>(std::ceil(units * per_unit)));
}

// Beyond these q* the capped rules no longer resolve tanh and sigmoid (their derivatives are
// bumps of width ~1 in sqrt(q) z): relative error ~5e-5 at the limit, 30% at ten times it.
// ReLU and GELU have no limit: at large q they are ReLU, which the symmetric rules integrate
// exactly.
double accurate_q_limit(ActivationKind kind) {
  if (kind == ActivationKind::kTanh) return 100.0;
  if (kind == ActivationKind::kSigmoid) return 400.0;  // poles twice as far from the real axis
  return kInf;
}

void check_accuracy(ActivationKind kind, double sigma_w2, double sigma_b2, double q_star) {
  if (q_star > accurate_q_limit(kind)) {
    throw_bad_input(
        "{} at sigma_w2 = {}, sigma_b2 = {}: q* = {:.4g} lies beyond the range the quadrature "
        "resolves (q* <= {})",
        activation_name(kind), sigma_w2, sigma_b2, q_star, accurate_q_limit(kind));
  }
}

// sqrt(q), with the limits at q = 0 and q = +inf: the scale of the pre-activations.
double scale_of(double q) { return std::sqrt(std::clamp(q, kZeroLimitQ, kInfiniteLimitQ)); }

// Brent's method (van Wijngaarden-Dekker-Brent, as in Numerical Recipes' zbrent) for a root of f
// in [a, b], given fa = f(a) and fb = f(b) of opposite signs (or one of them 0). Stops when the
// bracket is below 4 eps |x| + abs_tol: machine precision for the smooth maps here.
template <typename F>
double brent_root(F&& f, double a, double b, double fa, double fb, double abs_tol) {
  if (fa == 0.0) return a;
  if (fb == 0.0) return b;
  GRADSCOPE_CHECK((fa < 0.0) != (fb < 0.0), "root not bracketed: f({}) = {}, f({}) = {}", a, fa, b,
                  fb);
  double c = b;
  double fc = fb;
  double d = b - a;
  double e = d;
  for (int iteration = 0; iteration < 300; ++iteration) {
    if ((fb > 0.0) == (fc > 0.0)) {
      c = a;
      fc = fa;
      d = b - a;
      e = d;
    }
    if (std::abs(fc) < std::abs(fb)) {
      a = b;
      b = c;
      c = a;
      fa = fb;
      fb = fc;
      fc = fa;
    }
    const double tol = 2.0 * kEps * std::abs(b) + 0.5 * abs_tol;
    const double half = 0.5 * (c - b);
    if (std::abs(half) <= tol || fb == 0.0) return b;
    if (std::abs(e) >= tol && std::abs(fa) > std::abs(fb)) {
      // Inverse quadratic interpolation, or the secant step when only two points differ.
      const double s = fb / fa;
      double p = 0.0;
      double q = 0.0;
      if (a == c) {
        p = 2.0 * half * s;
        q = 1.0 - s;
      } else {
        const double qa = fa / fc;
        const double r = fb / fc;
        p = s * (2.0 * half * qa * (qa - r) - (b - a) * (r - 1.0));
        q = (qa - 1.0) * (r - 1.0) * (s - 1.0);
      }
      if (p > 0.0) q = -q;
      p = std::abs(p);
      const double limit = std::min(3.0 * half * q - std::abs(tol * q), std::abs(e * q));
      if (2.0 * p < limit) {
        e = d;
        d = p / q;
      } else {  // interpolation would leave the bracket or converge slowly: bisect
        d = half;
        e = d;
      }
    } else {
      d = half;
      e = d;
    }
    a = b;
    fa = fb;
    b += std::abs(d) > tol ? d : std::copysign(tol, half);
    fb = f(b);
  }
  return b;
}

// -1 / log(chi): the depth over which a deviation decays by e when it shrinks by chi per layer.
double depth_scale(double chi) {
  if (!(chi < 1.0 - kUnitTolerance)) return kInf;
  if (chi <= 0.0) return 0.0;
  return -1.0 / std::log(chi);
}

// The correlation map written as 1 - map(c) = sigma_w2 / (2 q*) E[(phi(u1) - phi(u2))^2] (equal
// to the map of the header because u1 and u2 both have variance q*), as a function of d = 1 - c:
// no cancellation when c is close to 1, where the chaotic fixed point sits near criticality.
double one_minus_correlation_map(ActivationKind kind, double sigma_w2, double q_star, double d) {
  const double s = std::sqrt(q_star);
  const double c = 1.0 - d;
  const double r = std::sqrt(d * (2.0 - d));  // sqrt(1 - c^2)
  const double mean_square = rule_for(q_star, kMaxPoints2d).expect2([&](double z1, double z2) {
    const double diff = phi(kind, s * z1) - phi(kind, s * (c * z1 + r * z2));
    return diff * diff;
  });
  return sigma_w2 * mean_square / (2.0 * q_star);
}

// The attracting fixed point c* < 1 of the correlation map in the chaotic phase, as d* = 1 - c*.
// The map is increasing and convex with map(1) = 1 and slope chi_1 > 1 at c = 1, and map(0) >= 0,
// so h(d) = map(1 - d) - (1 - d) = d - D(d) is >= 0 at d = 1 and < 0 just below c = 1: the
// bracket's small end is d = 2^-k for the first k with h < 0. Returns 0 (c* = 1) when h >= 0 down
// to d = 2^-40, i.e. chi_1 - 1 is below what double precision resolves there.
double chaotic_distance(ActivationKind kind, double sigma_w2, double q_star) {
  const auto h = [&](double d) { return d - one_minus_correlation_map(kind, sigma_w2, q_star, d); };
  double d_positive = 1.0;  // c = 0
  double h_positive = h(d_positive);
  if (h_positive <= 0.0) return 1.0;  // map(0) = 0 (odd phi, sigma_b2 = 0): c* = 0
  for (int k = 1; k <= 40; ++k) {
    const double d = std::ldexp(1.0, -k);
    const double hd = h(d);
    if (hd < 0.0) return brent_root(h, d, d_positive, hd, h_positive, 0.0);
    if (hd == 0.0) return d;
    d_positive = d;
    h_positive = hd;
  }
  return 0.0;
}

}  // namespace

std::string_view phase_name(MeanFieldPhase phase) {
  switch (phase) {
    case MeanFieldPhase::kOrdered:
      return "ordered";
    case MeanFieldPhase::kCritical:
      return "critical";
    case MeanFieldPhase::kChaotic:
      return "chaotic";
  }
  return "unknown";
}

double length_map(ActivationKind activation, double sigma_w2, double sigma_b2, double q) {
  check_inputs(activation, sigma_w2, sigma_b2);
  check_length(q);
  const double s = std::sqrt(q);
  const double mean_square = rule_for(q, kMaxPoints1d).expect([&](double z) {
    const double y = phi(activation, s * z);
    return y * y;
  });
  return sigma_w2 * mean_square + sigma_b2;
}

double length_fixed_point(ActivationKind activation, double sigma_w2, double sigma_b2) {
  check_inputs(activation, sigma_w2, sigma_b2);
  if (activation == ActivationKind::kRelu) {
    // Positively homogeneous: the map is q -> sigma_w2 q / 2 + sigma_b2 exactly (the quadrature
    // agrees to rounding, but at sigma_w2 = 2 rounding alone would decide between divergence
    // and a huge spurious fixed point).
    if (sigma_w2 < 2.0) {
      const double q = sigma_b2 / (1.0 - 0.5 * sigma_w2);
      return q > kDivergedQ ? kInf : q;
    }
    if (sigma_w2 == 2.0 && sigma_b2 == 0.0) return 1.0;  // every q is fixed: q_0 = 1 stays
    return kInf;
  }
  // g(q) = map(q) - q. The map is increasing in q for these activations, so iterating it from
  // q_0 = 1 moves monotonically toward the nearest root of g on the side where g(1) points:
  // bracket that root by doubling (g(1) > 0) or halving (g(1) < 0), then solve with Brent.
  const auto g = [&](double q) { return length_map(activation, sigma_w2, sigma_b2, q) - q; };
  // tanh and sigmoid are bounded by 1: q* <= sigma_w2 + sigma_b2 is always finite.
  const bool bounded =
      activation == ActivationKind::kTanh || activation == ActivationKind::kSigmoid;
  const double diverged = bounded ? std::max(kDivergedQ, 2.0 * (sigma_w2 + sigma_b2)) : kDivergedQ;
  double lo = 1.0;
  double hi = 1.0;
  double g_lo = g(1.0);
  double g_hi = g_lo;
  if (g_lo == 0.0) return 1.0;
  if (g_lo > 0.0) {
    hi = 2.0;
    g_hi = g(hi);
    while (g_hi > 0.0) {
      if (hi >= diverged) return kInf;  // no finite fixed point: the length diverges
      lo = hi;
      g_lo = g_hi;
      hi *= 2.0;
      g_hi = g(hi);
    }
  } else {
    lo = 0.5;
    g_lo = g(lo);
    while (g_lo < 0.0) {
      if (lo <= kMinQ) return 0.0;  // the signal dies out
      hi = lo;
      g_hi = g_lo;
      lo *= 0.5;
      g_lo = g(lo);
    }
  }
  const double q = brent_root(g, lo, hi, g_lo, g_hi, 0.0);
  return q > diverged ? kInf : q;
}

double chi1_at(ActivationKind activation, double sigma_w2, double q) {
  check_inputs(activation, sigma_w2, 0.0);
  check_length(q);
  const double s = scale_of(q);
  return sigma_w2 * rule_for(q, kMaxPoints1d).expect([&](double z) {
    const double d = dphi(activation, s * z);
    return d * d;
  });
}

double correlation_map(ActivationKind activation, double sigma_w2, double sigma_b2, double q_star,
                       double c) {
  check_inputs(activation, sigma_w2, sigma_b2);
  if (!(q_star > 0.0 && q_star < kInf) || !(std::abs(c) <= 1.0)) {
    throw_bad_input("correlation map needs 0 < q* < inf and |c| <= 1 (got q* = {}, c = {})", q_star,
                    c);
  }
  const double s = std::sqrt(q_star);
  const double r = std::sqrt((1.0 - c) * (1.0 + c));
  const double covariance = rule_for(q_star, kMaxPoints2d).expect2([&](double z1, double z2) {
    return phi(activation, s * z1) * phi(activation, s * (c * z1 + r * z2));
  });
  return (sigma_w2 * covariance + sigma_b2) / q_star;
}

MeanField mean_field(ActivationKind activation, double sigma_w2, double sigma_b2) {
  check_inputs(activation, sigma_w2, sigma_b2);
  MeanField m;
  m.activation = activation;
  m.sigma_w2 = sigma_w2;
  m.sigma_b2 = sigma_b2;
  m.q_star = length_fixed_point(activation, sigma_w2, sigma_b2);
  check_accuracy(activation, sigma_w2, sigma_b2, m.q_star);
  m.chi1 = chi1_at(activation, sigma_w2, m.q_star);
  if (std::abs(m.chi1 - 1.0) <= kCriticalTolerance) {
    m.phase = MeanFieldPhase::kCritical;
  } else {
    m.phase = m.chi1 < 1.0 ? MeanFieldPhase::kOrdered : MeanFieldPhase::kChaotic;
  }

  m.c_star = 1.0;
  m.chi_c = m.chi1;
  if (m.q_star == kInf) {
    // No fixed length. In the ordered and critical phases c* = 1 and chi_c = chi_1 all the same;
    // a chaotic c* < 1 needs the correlation map normalised by a finite q*: undefined.
    m.xi_q = kNaN;
    if (m.phase == MeanFieldPhase::kChaotic) {
      m.c_star = kNaN;
      m.chi_c = kNaN;
    }
    m.xi_c = m.phase == MeanFieldPhase::kChaotic ? kNaN : depth_scale(m.chi_c);
    m.trainable_depth = kTrainableDepthFactor * m.xi_c;
    return m;
  }

  // Length map: slope at q* = chi_1 + sigma_w2 E[phi'' phi] (Stein's lemma on d/dq E[phi^2]).
  const double s = scale_of(m.q_star);
  const double curvature = rule_for(m.q_star, kMaxPoints1d).expect([&](double z) {
    return d2phi(activation, s * z) * phi(activation, s * z);
  });
  m.xi_q = depth_scale(m.chi1 + sigma_w2 * curvature);

  // Correlation map: c = 1 is a fixed point with slope chi_1; in the chaotic phase it is
  // unstable and c* < 1 attracts (q* > 0 there: q = 0 is stable only if chi_1 <= 1).
  if (m.phase == MeanFieldPhase::kChaotic && m.q_star > 0.0) {
    const double d = chaotic_distance(activation, sigma_w2, m.q_star);
    if (d > 0.0) {
      const double c = 1.0 - d;
      const double r = std::sqrt(d * (2.0 - d));
      m.c_star = c;
      m.chi_c = sigma_w2 * rule_for(m.q_star, kMaxPoints2d).expect2([&](double z1, double z2) {
        return dphi(activation, s * z1) * dphi(activation, s * (c * z1 + r * z2));
      });
    }
  }
  m.xi_c = depth_scale(m.chi_c);
  m.trainable_depth = kTrainableDepthFactor * m.xi_c;
  return m;
}

double critical_sigma_w2(ActivationKind activation, double sigma_b2) {
  check_inputs(activation, 1.0, sigma_b2);
  const auto f = [&](double sigma_w2) {
    return chi1_at(activation, sigma_w2, length_fixed_point(activation, sigma_w2, sigma_b2)) - 1.0;
  };
  // chi_1 = 0 at sigma_w2 = 0 and grows with sigma_w2: bracket [0, hi], hi doubled from 1.
  constexpr double kMaxSigmaW2 = 1099511627776.0;  // 2^40
  double lo = 0.0;
  double f_lo = -1.0;
  double hi = 1.0;
  double f_hi = f(hi);
  while (f_hi < 0.0) {
    if (hi >= kMaxSigmaW2) {
      throw Error(ErrorKind::kRuntime,
                  fmt::format("no critical sigma_w2 below {} for {} at sigma_b2 = {}", kMaxSigmaW2,
                              activation_name(activation), sigma_b2));
    }
    lo = hi;
    f_lo = f_hi;
    hi *= 2.0;
    f_hi = f(hi);
  }
  const double critical = brent_root(f, lo, hi, f_lo, f_hi, 0.0);
  check_accuracy(activation, critical, sigma_b2,
                 length_fixed_point(activation, critical, sigma_b2));
  return critical;
}

}  // namespace gradscope
