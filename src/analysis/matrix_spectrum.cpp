#include "gradscope/analysis/matrix_spectrum.hpp"

#include "gradscope/core/dense_spectra.hpp"
#include "gradscope/core/error.hpp"
#include "gradscope/init/spectral_radius.hpp"

namespace gradscope {

MatrixSpectrum matrix_spectrum(const Matrix<double>& m, bool all_singular_values) {
  if (!m.allFinite()) {
    throw_bad_input("matrix spectrum: the {}x{} matrix holds NaN or Inf", m.rows(), m.cols());
  }
  MatrixSpectrum result;
  result.rows = m.rows();
  result.cols = m.cols();
  if (m.size() == 0) return result;
  if (m.rows() == m.cols()) result.spectral_radius = spectral_radius(m);
  // Singular values only (no vectors): divide and conquer, accurate for every size.
  const Vector<double> sigma = singular_values(m);
  result.spectral_norm = sigma(0);
  result.sigma_min = sigma(sigma.size() - 1);
  if (all_singular_values) result.singular_values.assign(sigma.data(), sigma.data() + sigma.size());
  return result;
}

}  // namespace gradscope
