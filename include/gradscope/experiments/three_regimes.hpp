// The article's diagram: log gradient norm against depth for spectral radius rho < 1, = 1, > 1.
//
// A chain of `depth` linear layers h_l = W_l h_{l-1}, W_l = rho Q_l with Q_l random orthogonal, so
// every layer Jacobian has spectral radius (and every singular value) exactly rho and
// ||dL/dh_l|| = rho^(L - l) ||dL/dh_L||: going back from the output, the log-norm changes by
// log rho per layer; drawn as in the article (input left, output right) its slope is -log rho.
#pragma once

#include <cstdint>
#include <vector>

#include "gradscope/core/types.hpp"

namespace gradscope {

struct RegimeProfile {
  double rho = 1.0;
  std::vector<double> log10_grad_norm;  // layer 1 (input side) ... L (output)
  double slope = 0.0;                   // least-squares slope of log10 ||dL/dh_l|| against l
  double expected_slope = 0.0;          // -log10 rho
};

struct ThreeRegimesSpec {
  Index depth = 50;
  Index width = 256;
  Index batch = 128;
  std::uint64_t seed = 0;
  std::vector<double> rhos = {0.9, 1.0, 1.1};
};

// Computed in double.
std::vector<RegimeProfile> three_regimes(const ThreeRegimesSpec& spec);

}  // namespace gradscope
