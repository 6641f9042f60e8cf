#include "gradscope/core/dense_spectra.hpp"

#include "gradscope/core/decompositions.hpp"
#include "gradscope/core/error.hpp"
#include "gradscope/core/threads.hpp"

#ifdef GRADSCOPE_HAVE_OPENBLAS
#define LAPACK_COMPLEX_CPP  // lapack_complex_double is std::complex<double>
#include <lapacke.h>

#include <limits>
#endif

namespace gradscope {

namespace {

// LAPACK's iterations do not end well on NaN or Inf (LAPACKE rejects them, Eigen's may not
// converge): say so first.
void check_finite(const Matrix<double>& m, const char* what) {
  if (!m.allFinite()) {
    throw_bad_input("{}: the {}x{} matrix holds NaN or Inf", what, m.rows(), m.cols());
  }
}

void check_eigenvalue_input(const Matrix<double>& m) {
  GRADSCOPE_CHECK(m.rows() == m.cols(), "eigenvalues: the matrix must be square, got {}x{}",
                  m.rows(), m.cols());
  check_finite(m, "eigenvalues");
}

#ifdef GRADSCOPE_HAVE_OPENBLAS
lapack_int lapack_size(Index n) {
  GRADSCOPE_CHECK(n <= std::numeric_limits<lapack_int>::max(),
                  "LAPACK: a dimension of {} is beyond its {}-bit indices", n,
                  8 * sizeof(lapack_int));
  return static_cast<lapack_int>(n);
}

void check_info(lapack_int info, const char* routine, const Matrix<double>& m) {
  // info < 0 names a bad argument: a bug here, not bad input.
  GRADSCOPE_CHECK(info >= 0, "{}: argument {} was rejected", routine, -info);
  if (info > 0) {
    throw Error(ErrorKind::kRuntime, fmt::format("{}: did not converge for a {}x{} matrix", routine,
                                                 m.rows(), m.cols()));
  }
}
#endif

}  // namespace

Vector<std::complex<double>> eigenvalues_by_eigen(const Matrix<double>& m) {
  check_eigenvalue_input(m);
  if (m.size() == 0) return {};
  const SingleThreadScope single_thread;
  const Eigen::EigenSolver<Matrix<double>> solver(m, /*computeEigenvectors=*/false);
  if (solver.info() != Eigen::Success) {
    throw Error(ErrorKind::kRuntime, fmt::format("EigenSolver: did not converge for a {}x{} matrix",
                                                 m.rows(), m.cols()));
  }
  return solver.eigenvalues();
}

Vector<double> singular_values_by_eigen(const Matrix<double>& m) {
  check_finite(m, "singular values");
  if (m.size() == 0) return {};
  const SingleThreadScope single_thread;
  return Eigen::BDCSVD<Matrix<double>>(m).singularValues();
}

#ifdef GRADSCOPE_HAVE_OPENBLAS

Vector<std::complex<double>> eigenvalues(const Matrix<double>& m) {
  check_eigenvalue_input(m);
  if (m.size() == 0) return {};
  const SingleThreadScope single_thread;
  const lapack_int n = lapack_size(m.rows());
  Matrix<double> a = m;  // dgeev overwrites its input
  Vector<double> real(n);
  Vector<double> imaginary(n);
  check_info(LAPACKE_dgeev(LAPACK_COL_MAJOR, 'N', 'N', n, a.data(), n, real.data(),
                           imaginary.data(), nullptr, 1, nullptr, 1),
             "dgeev", m);
  Vector<std::complex<double>> values(n);
  for (Index i = 0; i < n; ++i) values(i) = {real(i), imaginary(i)};
  return values;
}

Vector<double> singular_values(const Matrix<double>& m) {
  check_finite(m, "singular values");
  if (m.size() == 0) return {};
  const SingleThreadScope single_thread;
  const lapack_int rows = lapack_size(m.rows());
  const lapack_int cols = lapack_size(m.cols());
  Matrix<double> a = m;  // dgesdd overwrites its input
  Vector<double> sigma(std::min(rows, cols));
  check_info(LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', rows, cols, a.data(), rows, sigma.data(),
                            nullptr, 1, nullptr, 1),
             "dgesdd", m);
  return sigma;
}

#else

Vector<std::complex<double>> eigenvalues(const Matrix<double>& m) {
  return eigenvalues_by_eigen(m);
}

Vector<double> singular_values(const Matrix<double>& m) { return singular_values_by_eigen(m); }

#endif

}  // namespace gradscope
