// Mean-field theory of signal propagation in deep random networks at initialisation
// (Poole et al. 2016, "Exponential expressivity in deep neural networks through transient
// chaos"; Schoenholz et al. 2017, "Deep Information Propagation", ICLR 2017).
//
// Network: z_l = W_l phi(z_{l-1}) + b_l with W_l ~ N(0, sigma_w2 / fan_in), b_l ~ N(0, sigma_b2),
// phi in {tanh, relu, sigmoid, gelu}. In the wide limit, with z ~ N(0, 1) and Gaussian
// expectations by Gauss-Hermite quadrature (analysis/gauss_hermite.hpp):
//
//   length map       q_{l+1} = sigma_w2 E[phi(sqrt(q_l) z)^2] + sigma_b2          -> q*
//   chi_1            = sigma_w2 E[phi'(sqrt(q*) z)^2]
//                      (mean squared singular value of one layer's Jacobian: the gradient's
//                      norm grows by sqrt(chi_1) per layer on its way back to the input)
//   correlation map  c_{l+1} = (sigma_w2 E[phi(u1) phi(u2)] + sigma_b2) / q*,
//                      u1 = sqrt(q*) z1, u2 = sqrt(q*) (c z1 + sqrt(1 - c^2) z2)           -> c*
//   chi_c            = sigma_w2 E[phi'(u1) phi'(u2)] at c = c*   (chi_c = chi_1 when c* = 1)
//   depth scales     xi_q = -1 / log(chi_1 + sigma_w2 E[phi''(sqrt(q*) z) phi(sqrt(q*) z)])
//                    xi_c = -1 / log(chi_c)                              (Schoenholz et al. 2017)
//   phase            ordered (chi_1 < 1: c* = 1, nearby inputs converge, gradients vanish),
//                    chaotic (chi_1 > 1: c* < 1, nearby inputs decorrelate, gradients explode),
//                    critical (|chi_1 - 1| <= kCriticalTolerance: xi_c diverges)
//   trainable depth  6 xi_c. Schoenholz et al. 2017 train fully connected networks on MNIST
//                    and CIFAR-10 over a grid of depth and sigma_w^2 and find that they train
//                    only when their depth is below about 6 xi_c: the curve 6 xi_c bounds the
//                    trainable region of their training-accuracy heat maps.
//
// Derivatives used: tanh' = 1 - tanh^2, tanh'' = -2 tanh (1 - tanh^2); sigmoid' = s (1 - s),
// sigmoid'' = s (1 - s)(1 - 2 s); relu' = [x > 0], relu'' = 0 (almost everywhere; the delta at 0
// meets relu(0) = 0); gelu = x Phi(x), gelu' = Phi(x) + x pdf(x), gelu'' = pdf(x) (2 - x^2).
// Derivation, quadrature and root finders: docs/derivations/mean_field.md.
//
// Representation of the special cases:
//   - q* = +inf when the length map has no finite attracting fixed point reached from q_0 = 1 (it
//     diverges: ReLU with sigma_w2 >= 2 and sigma_b2 > 0, GELU past its phase boundary; fixed
//     points above 1e12 count as divergence). chi_1 is then the q -> inf limit
//     sigma_w2 E[phi'(+inf z)^2] (sigma_w2 / 2 for ReLU and GELU), which keeps the phase and the
//     critical line defined, and xi_q is NaN (undefined). In the ordered and critical phases
//     c* = 1 and chi_c = chi_1 still, so xi_c is defined (+inf for ReLU at sigma_w2 = 2); in the
//     chaotic phase c*, chi_c, xi_c and the trainable depth are NaN: a chaotic c* < 1 needs the
//     correlation map normalised by a finite q*.
//   - q* = 0 when the signal dies out (sigma_b2 = 0 and sigma_w2 small for tanh, ReLU, GELU);
//     quantities at q* are then the q -> 0+ limits (chi_1 = sigma_w2 phi'(0)^2, ReLU
//     sigma_w2 / 2), and c* = 1 (every input maps to the same point).
//   - A depth scale is +inf when its chi is 1 within kUnitTolerance (criticality).
//   - GELU at small sigma_b2 is bistable: a small attracting q* and divergence, separated by an
//     unstable fixed point; q_0 = 1 picks the branch, and chi_1 jumps from below 1 to
//     sigma_w2 / 2 > 1 across the boundary (critical_sigma_w2 then returns the jump).
#pragma once

#include <string_view>

#include "gradscope/nn/activation.hpp"

namespace gradscope {

enum class MeanFieldPhase { kOrdered, kCritical, kChaotic };

// "ordered", "critical", "chaotic".
std::string_view phase_name(MeanFieldPhase phase);

// |chi_1 - 1| at or below this is the critical phase: there xi_c >= ~1000 layers, deeper than
// any network one would train, so "critical" and "at the edge of chaos" mean the same thing.
inline constexpr double kCriticalTolerance = 1e-3;
// A chi within this of 1 is 1 (the accuracy of the quadrature and root finders): xi = +inf.
inline constexpr double kUnitTolerance = 1e-10;
// Schoenholz et al. 2017: networks are trainable up to a depth of about 6 xi_c.
inline constexpr double kTrainableDepthFactor = 6.0;

struct MeanField {
  ActivationKind activation = ActivationKind::kTanh;
  double sigma_w2 = 0.0;
  double sigma_b2 = 0.0;
  double q_star = 0.0;  // fixed point of the length map reached from q_0 = 1; +inf if it diverges
  double chi1 = 0.0;    // sigma_w2 E[phi'(sqrt(q*) z)^2]
  double c_star = 1.0;  // 1 when ordered or critical, < 1 when chaotic (NaN: chaotic with q* inf)
  double chi_c = 0.0;   // sigma_w2 E[phi'(u1) phi'(u2)] at c* (NaN: chaotic with q* inf)
  double xi_q = 0.0;    // depth scale of the length map; +inf at slope 1; NaN if q* inf
  double xi_c = 0.0;    // depth scale of the correlation map; +inf at criticality (NaN as chi_c)
  MeanFieldPhase phase = MeanFieldPhase::kOrdered;
  double trainable_depth = 0.0;  // kTrainableDepthFactor * xi_c
};

// Everything at one point (sigma_w2, sigma_b2). Throws a bad-input Error for an activation other
// than tanh, relu, sigmoid, gelu, a variance that is negative or not finite, or a point whose q*
// lies beyond what the quadrature resolves: q* <= 100 for tanh, 400 for sigmoid (q* <=
// sigma_w2 + sigma_b2 for both; the rules grow with q* up to 3200 nodes, see
// docs/derivations/mean_field.md); no limit for ReLU and GELU.
MeanField mean_field(ActivationKind activation, double sigma_w2, double sigma_b2);

// The critical line: the sigma_w2 with chi_1(sigma_w2, sigma_b2) = 1. chi_1 is 0 at sigma_w2 = 0
// and grows with sigma_w2; the bracket is [0, hi] with hi doubled from 1 until chi_1(hi) >= 1
// (at most 2^40; beyond, a runtime Error), then Brent's method to machine precision. Same
// accuracy limit on q* as mean_field (a bad-input Error). ReLU: 2 for every sigma_b2 (to 1e-15).
// Where chi_1 jumps over 1 (GELU at small sigma_b2, see above) the result is the jump, the
// boundary between the ordered phase and divergence.
double critical_sigma_w2(ActivationKind activation, double sigma_b2);

// The building blocks, for tests and plots.
// q -> sigma_w2 E[phi(sqrt(q) z)^2] + sigma_b2, for finite q >= 0.
double length_map(ActivationKind activation, double sigma_w2, double sigma_b2, double q);
// q* alone (see MeanField::q_star).
double length_fixed_point(ActivationKind activation, double sigma_w2, double sigma_b2);
// sigma_w2 E[phi'(sqrt(q) z)^2] for q >= 0 (the limits at q = 0 and q = +inf, see above).
double chi1_at(ActivationKind activation, double sigma_w2, double q);
// c -> (sigma_w2 E[phi(u1) phi(u2)] + sigma_b2) / q_star; needs 0 < q_star < inf, |c| <= 1.
double correlation_map(ActivationKind activation, double sigma_w2, double sigma_b2, double q_star,
                       double c);

}  // namespace gradscope
