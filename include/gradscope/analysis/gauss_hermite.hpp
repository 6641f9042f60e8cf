// Gauss-Hermite quadrature for Gaussian expectations (probabilists' form):
//
//   E_{z ~ N(0,1)}[f(z)]            ~  sum_i w_i f(x_i)
//   E_{z1, z2 ~ N(0,1) iid}[f(z1, z2)] ~  sum_i sum_j w_i w_j f(x_i, x_j)    (tensor grid)
//
// The n nodes x_i are the roots of the probabilists' Hermite polynomial He_n and the weights w_i
// sum to 1; the rule is exact for polynomials of degree <= 2n - 1. Golub-Welsch: He_n satisfies
// x He_k = He_{k+1} + k He_{k-1}, so the symmetric Jacobi matrix has a zero diagonal and the
// off-diagonal sqrt(1), ..., sqrt(n - 1); its eigenvalues (Eigen's SelfAdjointEigenSolver on the
// tridiagonal matrix, O(n^2)) are the nodes, and w_i is the squared first component of the i-th
// unit eigenvector. That eigenvector is (p_0(x_i), ..., p_{n-1}(x_i)) / norm with p_k the
// orthonormal Hermite polynomials, so w_i = 1 / sum_k p_k(x_i)^2, evaluated by the recurrence
// (O(n^2) for all nodes, where accumulating the solver's eigenvectors would cost O(n^3)). Nodes
// and weights are then symmetrised exactly (x_i = -x_{n-1-i}, w_i = w_{n-1-i}) so that odd
// integrands integrate to 0 to the last bit.
//
// Default: 100 points.
//   - Even, so that no node sits at 0, where ReLU and its derivative have their kink: by the
//     exact symmetry E[step(z)] = 1/2 and E[relu(z)^2] = 1/2 to rounding, which makes ReLU's
//     chi_1 = sigma_w^2 / 2 (and its critical sigma_w^2 = 2) exact. With an odd count, e.g. 101,
//     the node at 0 (weight 0.124) would make E[step(z)] 0.438 instead of 0.5.
//   - Enough for smooth integrands of unit scale: exact to degree 199; for tanh(z)^2, whose poles
//     at z = +-i pi / 2 limit the convergence, the error is ~1e-11; sech(z)^4 (in chi_1) ~1e-9.
//   - Cheap: a 2-D expectation is 10^4 evaluations.
// Integrands f(sqrt(q) z) vary on the scale 1 / sqrt(q) in z, and the node spacing near 0 is
// about pi / sqrt(n): the error stays put when n grows like q. at_least() hands out the cached
// rules of 100 * 2^k points for that (analysis/mean_field.cpp uses about 100 q points).
#pragma once

#include "gradscope/core/types.hpp"

namespace gradscope {

class GaussHermite {
 public:
  static constexpr Index kDefaultPoints = 100;
  // Building the largest rule takes ~0.3 s (O(n^2)); it covers q up to 32 at full accuracy.
  static constexpr Index kMaxPoints = 3200;

  // Throws a bad-input Error unless 1 <= points <= kMaxPoints.
  explicit GaussHermite(Index points = kDefaultPoints);

  Index size() const { return nodes_.size(); }
  const Vector<double>& nodes() const { return nodes_; }      // ascending, (n)
  const Vector<double>& weights() const { return weights_; }  // positive, sum 1, (n)

  // E[f(z)], z ~ N(0, 1). Summed in mirror pairs from the tails inward: small terms first, and
  // an odd integrand cancels exactly.
  template <typename F>
  double expect(F&& f) const {
    const Index n = size();
    double sum = n % 2 == 1 ? weights_[n / 2] * f(nodes_[n / 2]) : 0.0;
    for (Index i = 0; i < n / 2; ++i) sum += weights_[i] * (f(nodes_[i]) + f(nodes_[n - 1 - i]));
    return sum;
  }

  // E[f(z1, z2)], z1, z2 ~ N(0, 1) independent, on the n x n tensor grid (n^2 evaluations).
  template <typename F>
  double expect2(F&& f) const {
    return expect([&](double z1) { return expect([&](double z2) { return f(z1, z2); }); });
  }

  // The shared default rule (built once, thread-safe).
  static const GaussHermite& standard();
  // The shared rule of kDefaultPoints * 2^k points, the smallest with at least `points` nodes
  // (at most kMaxPoints; built on first use, thread-safe).
  static const GaussHermite& at_least(Index points);

 private:
  Vector<double> nodes_;
  Vector<double> weights_;
};

}  // namespace gradscope
