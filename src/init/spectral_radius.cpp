#include "gradscope/init/spectral_radius.hpp"

#include <cmath>
#include <limits>

#include "gradscope/core/dense_spectra.hpp"
#include "gradscope/core/error.hpp"

namespace gradscope {

template <typename Scalar>
double spectral_radius(const Matrix<Scalar>& m) {
  GRADSCOPE_CHECK(m.rows() == m.cols(), "spectral radius: matrix must be square, got {}x{}",
                  m.rows(), m.cols());
  if (m.size() == 0) return 0.0;
  const Matrix<double> a = m.template cast<double>();
  // The QR iteration does not converge on NaN/Inf; a blown-up W is data, not an error.
  if (!a.allFinite()) return std::numeric_limits<double>::quiet_NaN();
  // Eigenvalues only: a general (non-symmetric) W has complex ones, and for a non-normal W the
  // radius can be far below the largest singular value, which is why we do not use the SVD.
  return eigenvalues(a).cwiseAbs().maxCoeff();
}

template <typename Scalar>
void scale_to_spectral_radius(Matrix<Scalar>& w, double rho) {
  GRADSCOPE_CHECK(w.rows() == w.cols(),
                  "scale to spectral radius: matrix must be square, got {}x{}", w.rows(), w.cols());
  if (!(rho >= 0.0) || !std::isfinite(rho)) {
    throw_bad_input("spectral radius rho must be finite and >= 0, got {}", rho);
  }
  const double radius = spectral_radius(w);
  if (!(radius > 0.0) || !std::isfinite(radius)) {
    throw_bad_input("cannot scale a matrix with spectral radius {} to rho = {}", radius, rho);
  }
  // Eigenvalues scale linearly: radius(c W) = |c| radius(W).
  w *= static_cast<Scalar>(rho / radius);
}

template double spectral_radius<float>(const Matrix<float>&);
template double spectral_radius<double>(const Matrix<double>&);
template void scale_to_spectral_radius<float>(Matrix<float>&, double);
template void scale_to_spectral_radius<double>(Matrix<double>&, double);

}  // namespace gradscope
