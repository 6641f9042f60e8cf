#include "gradscope/analysis/matrix_spectrum.hpp"

#include <algorithm>
#include <mutex>

#include "gradscope/core/dense_spectra.hpp"
#include "gradscope/core/error.hpp"
#include "gradscope/core/parallel_for.hpp"
#include "gradscope/core/threads.hpp"
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

std::vector<MatrixSpectrum> matrix_spectra(Index count,
                                           const std::function<Matrix<double>(Index)>& matrix,
                                           bool all_singular_values,
                                           const std::function<void(Index)>& done) {
  std::vector<MatrixSpectrum> spectra(static_cast<std::size_t>(std::max<Index>(0, count)));
  std::mutex done_mutex;
  Index finished = 0;
  parallel_for(spectra.size(), thread_count(), [&](std::size_t i) {
    const SingleThreadScope single_thread;  // a worker thread would otherwise split its products
    spectra[i] = matrix_spectrum(matrix(static_cast<Index>(i)), all_singular_values);
    const std::lock_guard<std::mutex> lock(done_mutex);
    ++finished;
    if (done) done(finished);
  });
  return spectra;
}

}  // namespace gradscope
