// "Scale this square matrix to spectral radius rho": the article's knob for the three regimes.
#pragma once

#include "gradscope/core/types.hpp"

namespace gradscope {

// Largest |eigenvalue| of a square matrix (computed in double).
template <typename Scalar>
double spectral_radius(const Matrix<Scalar>& m);

// W <- (rho / spectral_radius(W)) W. Throws if W is not square or has spectral radius 0.
template <typename Scalar>
void scale_to_spectral_radius(Matrix<Scalar>& w, double rho);

}  // namespace gradscope
