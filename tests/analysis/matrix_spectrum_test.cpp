// One Jacobian's spectrum, and many at once on several threads.
#include "gradscope/analysis/matrix_spectrum.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

#include "gradscope/core/decompositions.hpp"
#include "gradscope/core/error.hpp"
#include "gradscope/core/random.hpp"
#include "gradscope/core/threads.hpp"

namespace gradscope {
namespace {

// diag(3, -2, 0.5) rotated: rho 3, ||J|| 3, sigma_min 0.5, exactly.
TEST(MatrixSpectrum, KnownDiagonalSpectrum) {
  Rng rng(1);
  const Eigen::HouseholderQR<Matrix<double>> qr(rng.normal_matrix<double>(3, 3));
  const Matrix<double> q = qr.householderQ();
  const Vector<double> d = (Vector<double>(3) << 3.0, -2.0, 0.5).finished();
  const MatrixSpectrum s = matrix_spectrum(q * d.asDiagonal() * q.transpose(), true);
  ASSERT_TRUE(s.spectral_radius.has_value());
  EXPECT_NEAR(*s.spectral_radius, 3.0, 1e-12);
  EXPECT_NEAR(s.spectral_norm, 3.0, 1e-12);
  EXPECT_NEAR(s.sigma_min, 0.5, 1e-12);
  ASSERT_EQ(s.singular_values.size(), 3u);
  EXPECT_NEAR(s.singular_values[1], 2.0, 1e-12);
  EXPECT_FALSE(matrix_spectrum(Matrix<double>::Ones(2, 3)).spectral_radius.has_value());
}

// The same spectra as one at a time, whatever the thread count; `done` counts 1 .. count in
// order; a bad matrix's error reaches the caller.
TEST(MatrixSpectrum, ManyAtOnceEqualOneAtATime) {
  Rng rng(2);
  std::vector<Matrix<double>> matrices;
  for (Index i = 0; i < 9; ++i) matrices.push_back(rng.normal_matrix<double>(20, 20));
  const auto matrix = [&](Index i) { return matrices[static_cast<std::size_t>(i)]; };
  const int threads_before = thread_count();
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE(::testing::Message() << threads << " threads");
    set_thread_count(threads);
    std::vector<Index> done;
    const std::vector<MatrixSpectrum> spectra = matrix_spectra(
        9, matrix, /*all_singular_values=*/true, [&](Index d) { done.push_back(d); });
    ASSERT_EQ(spectra.size(), matrices.size());
    for (std::size_t i = 0; i < matrices.size(); ++i) {
      const MatrixSpectrum one = matrix_spectrum(matrices[i], true);
      EXPECT_EQ(spectra[i].spectral_radius, one.spectral_radius) << i;
      EXPECT_EQ(spectra[i].singular_values, one.singular_values) << i;
    }
    EXPECT_EQ(done, (std::vector<Index>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
    EXPECT_EQ(thread_count(), threads) << "the caller's thread count is left as it was";
  }
  set_thread_count(threads_before);
  EXPECT_TRUE(matrix_spectra(0, matrix).empty());
  matrices[4](1, 1) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(matrix_spectra(9, matrix), Error);
}

}  // namespace
}  // namespace gradscope
