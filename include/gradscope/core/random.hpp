// Seeded, reproducible random numbers.
//
// std::uniform_real_distribution and std::normal_distribution differ between standard libraries;
// gradscope's numbers must be the same bit for bit everywhere, so the transforms are our own:
// uniform from the top 53 bits of mt19937_64, normal by Box-Muller (both values used, in order).
#pragma once

#include <cstdint>
#include <random>

#include "gradscope/core/types.hpp"

namespace gradscope {

// Independent streams from one user seed: the model's weights and the task's data each get their
// own (splitmix64 of seed and stream id), so changing how many numbers one draws never shifts
// the other.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream);
inline constexpr std::uint64_t kModelStream = 1;
inline constexpr std::uint64_t kDataStream = 2;

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}

  // Uniform on [0, 1).
  double uniform();
  // Uniform on [low, high).
  double uniform(double low, double high) { return low + (high - low) * uniform(); }
  // Standard normal N(0, 1).
  double normal();
  double normal(double mean, double stddev) { return mean + stddev * normal(); }
  // Uniform integer in [0, n).
  std::uint64_t below(std::uint64_t n);
  std::uint64_t bits() { return engine_(); }

  // A child generator whose stream does not overlap this one's in practice; used so that, e.g.,
  // the data stream and the weights do not depend on each other's draw counts.
  Rng split() { return Rng(engine_() ^ 0x9E3779B97F4A7C15ULL); }

  template <typename Scalar>
  Matrix<Scalar> normal_matrix(Index rows, Index cols, double stddev = 1.0);
  template <typename Scalar>
  Matrix<Scalar> uniform_matrix(Index rows, Index cols, double low, double high);

 private:
  std::mt19937_64 engine_;
  double spare_normal_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace gradscope
