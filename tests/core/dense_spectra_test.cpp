// eigenvalues and singular_values (LAPACK in the OpenBLAS build) against their Eigen references,
// and against matrices whose spectra are known exactly.
#include "gradscope/core/dense_spectra.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "gradscope/core/decompositions.hpp"
#include "gradscope/core/error.hpp"
#include "gradscope/core/random.hpp"

namespace gradscope {
namespace {

// Eigenvalues sorted by modulus, then by real and imaginary part: conjugate pairs and equal
// moduli come out in the same order from both solvers.
std::vector<std::complex<double>> sorted(const Vector<std::complex<double>>& values) {
  std::vector<std::complex<double>> v(values.data(), values.data() + values.size());
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    if (std::abs(a) != std::abs(b)) return std::abs(a) < std::abs(b);
    if (a.real() != b.real()) return a.real() < b.real();
    return a.imag() < b.imag();
  });
  return v;
}

TEST(DenseSpectra, EigenvaluesAgreeWithEigensSolver) {
  Rng rng(11);
  for (Index n : {1, 2, 5, 64, 256}) {
    const Matrix<double> m = rng.normal_matrix<double>(n, n) / std::sqrt(static_cast<double>(n));
    const Vector<std::complex<double>> fast = eigenvalues(m);
    const Vector<std::complex<double>> reference = eigenvalues_by_eigen(m);
    ASSERT_EQ(fast.size(), n);
    // The spectral radius, which is what gradscope reads, to 1e-12.
    EXPECT_NEAR(fast.cwiseAbs().maxCoeff(), reference.cwiseAbs().maxCoeff(), 1e-12) << "n = " << n;
    // Every modulus (the sums and products of the eigenvalues as well: trace and determinant).
    const auto a = sorted(fast);
    const auto b = sorted(reference);
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_NEAR(std::abs(a[i]), std::abs(b[i]), 1e-10) << "n = " << n << ", i = " << i;
    }
    EXPECT_NEAR(fast.sum().real(), m.trace(), 1e-10 * static_cast<double>(n));
    EXPECT_NEAR(fast.sum().imag(), 0.0, 1e-10 * static_cast<double>(n));
  }
}

TEST(DenseSpectra, EigenvaluesOfKnownMatrices) {
  // A rotation by 90 degrees: +-i. A triangular matrix: its diagonal.
  Matrix<double> rotation(2, 2);
  rotation << 0.0, -1.0, 1.0, 0.0;
  const auto r = sorted(eigenvalues(rotation));
  EXPECT_NEAR(r[0].real(), 0.0, 1e-15);
  EXPECT_NEAR(r[0].imag(), -1.0, 1e-15);
  EXPECT_NEAR(r[1].imag(), 1.0, 1e-15);
  Matrix<double> triangular(3, 3);
  triangular << 3.0, 5.0, 7.0, 0.0, -2.0, 1.0, 0.0, 0.0, 0.5;
  const auto t = sorted(eigenvalues(triangular));
  EXPECT_NEAR(t[0].real(), 0.5, 1e-14);
  EXPECT_NEAR(t[1].real(), -2.0, 1e-14);
  EXPECT_NEAR(t[2].real(), 3.0, 1e-14);
  EXPECT_EQ(eigenvalues(Matrix<double>(0, 0)).size(), 0);
}

TEST(DenseSpectra, SingularValuesAgreeWithEigensBdcsvdForEveryShape) {
  Rng rng(12);
  for (auto [rows, cols] : std::vector<std::pair<Index, Index>>{
           {1, 1}, {3, 7}, {7, 3}, {40, 40}, {256, 256}, {300, 120}}) {
    const Matrix<double> m = rng.normal_matrix<double>(rows, cols);
    const Vector<double> fast = singular_values(m);
    const Vector<double> reference = singular_values_by_eigen(m);
    ASSERT_EQ(fast.size(), std::min(rows, cols));
    EXPECT_LT((fast - reference).cwiseAbs().maxCoeff(), 1e-12 * reference(0))
        << rows << "x" << cols;
    for (Index i = 1; i < fast.size(); ++i) EXPECT_GE(fast(i - 1), fast(i));  // descending
    // The Frobenius norm is the root of the sum of squares.
    EXPECT_NEAR(fast.norm(), m.norm(), 1e-12 * m.norm());
  }
}

TEST(DenseSpectra, SingularValuesOfAScaledOrthogonalMatrixAreAllTheScale) {
  Rng rng(13);
  const Eigen::HouseholderQR<Matrix<double>> qr(rng.normal_matrix<double>(50, 50));
  const Matrix<double> q = qr.householderQ();
  const Vector<double> sigma = singular_values(3.0 * q);
  EXPECT_LT((sigma.array() - 3.0).abs().maxCoeff(), 1e-13);
}

TEST(DenseSpectra, NanOrInfIsBadInputAndANonSquareEigenproblemIsRefused) {
  Matrix<double> m = Matrix<double>::Identity(3, 3);
  m(1, 2) = std::numeric_limits<double>::quiet_NaN();
  for (auto* solve : {+[](const Matrix<double>& a) { (void)eigenvalues(a); },
                      +[](const Matrix<double>& a) { (void)singular_values(a); },
                      +[](const Matrix<double>& a) { (void)eigenvalues_by_eigen(a); },
                      +[](const Matrix<double>& a) { (void)singular_values_by_eigen(a); }}) {
    try {
      solve(m);
      ADD_FAILURE() << "accepted a NaN";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
      EXPECT_NE(std::string(e.what()).find("3x3 matrix holds NaN or Inf"), std::string::npos)
          << e.what();
    }
  }
  EXPECT_THROW(eigenvalues(Matrix<double>::Ones(2, 3)), Error);
}

}  // namespace
}  // namespace gradscope
