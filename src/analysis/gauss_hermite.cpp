#include "gradscope/analysis/gauss_hermite.hpp"

#include <array>
#include <cmath>
#include <memory>
#include <mutex>

#include "gradscope/core/decompositions.hpp"
#include "gradscope/core/error.hpp"

namespace gradscope {

namespace {

// w = 1 / sum_k p_k(x)^2 over the orthonormal probabilists' Hermite polynomials p_0 .. p_{n-1}:
// p_0 = 1, p_1 = x, sqrt(k + 1) p_{k+1} = x p_k - sqrt(k) p_{k-1}. Far out in the tails the sum
// overflows long after the weight has dropped below 1e-300: it is then 0.
double christoffel_weight(double x, Index n) {
  double previous = 0.0;
  double current = 1.0;
  double sum = 1.0;
  for (Index k = 0; k + 1 < n; ++k) {
    const double next = (x * current - std::sqrt(static_cast<double>(k)) * previous) /
                        std::sqrt(static_cast<double>(k + 1));
    previous = current;
    current = next;
    sum += current * current;
    if (sum > 1e300) return 0.0;
  }
  return 1.0 / sum;
}

}  // namespace

GaussHermite::GaussHermite(Index points) {
  if (points < 1 || points > kMaxPoints) {
    throw_bad_input("Gauss-Hermite rule with {} points (expected 1 to {})", points, kMaxPoints);
  }
  const Index n = points;
  // Jacobi matrix of the monic probabilists' Hermite polynomials (Golub-Welsch).
  const Vector<double> diagonal = Vector<double>::Zero(n);
  Vector<double> off_diagonal(n - 1);
  for (Index k = 1; k < n; ++k) off_diagonal[k - 1] = std::sqrt(static_cast<double>(k));
  Eigen::SelfAdjointEigenSolver<Matrix<double>> solver;
  solver.computeFromTridiagonal(diagonal, off_diagonal, Eigen::EigenvaluesOnly);
  GRADSCOPE_CHECK(solver.info() == Eigen::Success, "Gauss-Hermite: eigensolver failed (n = {})", n);
  const Vector<double>& raw_nodes = solver.eigenvalues();  // ascending

  // Exact symmetry about 0 (the exact rule is symmetric; the eigensolver is so to rounding).
  nodes_.resize(n);
  weights_.resize(n);
  for (Index i = 0; i < n; ++i) nodes_[i] = 0.5 * (raw_nodes[i] - raw_nodes[n - 1 - i]);
  if (n % 2 == 1) nodes_[n / 2] = 0.0;
  for (Index i = 0; i < n; ++i) weights_[i] = christoffel_weight(nodes_[i], n);
  // Total mass 1, summed in symmetric pairs (from the tails in) so the result keeps the symmetry.
  double total = n % 2 == 1 ? weights_[n / 2] : 0.0;
  for (Index i = 0; i < n / 2; ++i) total += 2.0 * weights_[i];
  weights_ /= total;
}

const GaussHermite& GaussHermite::standard() {
  static const GaussHermite rule(kDefaultPoints);
  return rule;
}

const GaussHermite& GaussHermite::at_least(Index points) {
  // kDefaultPoints * 2^k for k = 0 .. 5 (100 .. 3200 = kMaxPoints).
  constexpr std::size_t kSizes = 6;
  static std::array<std::unique_ptr<const GaussHermite>, kSizes> rules;
  static std::mutex mutex;
  std::size_t k = 0;
  while (k + 1 < kSizes && (kDefaultPoints << k) < points) ++k;
  if (k == 0) return standard();
  const std::lock_guard<std::mutex> lock(mutex);
  if (!rules[k]) rules[k] = std::make_unique<const GaussHermite>(kDefaultPoints << k);
  return *rules[k];
}

}  // namespace gradscope
