#include "gradscope/core/random.hpp"

#include <cmath>
#include <numbers>

namespace gradscope {

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t z = seed + stream * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double Rng::uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_normal_;
  }
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();  // log(0) is -inf
  const double u2 = uniform();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * std::numbers::pi * u2;
  spare_normal_ = radius * std::sin(angle);
  has_spare_ = true;
  return radius * std::cos(angle);
}

std::uint64_t Rng::below(std::uint64_t n) {
  // Rejection sampling: unbiased, and the same on every platform.
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
  std::uint64_t draw = engine_();
  while (draw >= limit) draw = engine_();
  return draw % n;
}

template <typename Scalar>
Matrix<Scalar> Rng::normal_matrix(Index rows, Index cols, double stddev) {
  Matrix<Scalar> m(rows, cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) m(i, j) = static_cast<Scalar>(stddev * normal());
  return m;
}

template <typename Scalar>
Matrix<Scalar> Rng::uniform_matrix(Index rows, Index cols, double low, double high) {
  Matrix<Scalar> m(rows, cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) m(i, j) = static_cast<Scalar>(uniform(low, high));
  return m;
}

template Matrix<float> Rng::normal_matrix<float>(Index, Index, double);
template Matrix<double> Rng::normal_matrix<double>(Index, Index, double);
template Matrix<float> Rng::uniform_matrix<float>(Index, Index, double, double);
template Matrix<double> Rng::uniform_matrix<double>(Index, Index, double, double);

}  // namespace gradscope
