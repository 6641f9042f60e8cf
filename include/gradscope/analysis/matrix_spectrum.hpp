// What one Jacobian does to a gradient: its spectral radius, the article's quantity, next to its
// singular values, which actually bound the growth.
//
// For a normal matrix rho = sigma_max. For a non-normal one rho can be far below sigma_max: a
// product of such factors can grow for a while although rho < 1 (transient growth), and only in
// the long run does ||A^T||^(1/T) approach rho(A) (Gelfand's formula). Reporting both shows which
// regime a layer is in.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "gradscope/core/types.hpp"

namespace gradscope {

struct MatrixSpectrum {
  Index rows = 0;
  Index cols = 0;
  std::optional<double> spectral_radius;  // largest |eigenvalue|; square matrices only
  double spectral_norm = 0.0;             // sigma_max
  double sigma_min = 0.0;                 // the smallest of the min(rows, cols) singular values
  std::vector<double> singular_values;    // descending; filled when asked for
};

// Throws a bad-input Error when the matrix holds NaN or Inf.
MatrixSpectrum matrix_spectrum(const Matrix<double>& m, bool all_singular_values = false);

// matrix_spectrum of matrix(0) ... matrix(count - 1), thread_count() of them at a time: each is
// an eigenvalue problem and an SVD on one thread (too small to split), independent of the others.
// `done`, when given, is called after each one with how many are done, one call at a time.
std::vector<MatrixSpectrum> matrix_spectra(Index count,
                                           const std::function<Matrix<double>(Index)>& matrix,
                                           bool all_singular_values = false,
                                           const std::function<void(Index)>& done = {});

}  // namespace gradscope
