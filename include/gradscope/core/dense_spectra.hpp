// Eigenvalues and singular values of a dense double matrix, values only.
//
// In the OpenBLAS build they come from LAPACK (dgeev, dgesdd through LAPACKE); measured on a
// 256 x 256 on one thread, dgeev takes 32 ms against Eigen's EigenSolver's 356 and dgesdd 6 ms
// against BDCSVD's 20, and `gradscope spectrum` computes one of each per layer. Without OpenBLAS
// they are Eigen's. Both run on one thread whatever --threads says: their inner products are too
// small to split (8 and 38 ms on two threads). The Eigen versions stay callable as the reference
// the tests hold LAPACK's to.
#pragma once

#include <complex>

#include "gradscope/core/types.hpp"

namespace gradscope {

// m square; the eigenvalues in no particular order. Bad-input Error if m holds NaN or Inf, runtime
// Error if the iteration does not converge.
Vector<std::complex<double>> eigenvalues(const Matrix<double>& m);
// m any shape; the min(rows, cols) singular values, descending. Bad-input Error on NaN or Inf.
Vector<double> singular_values(const Matrix<double>& m);

Vector<std::complex<double>> eigenvalues_by_eigen(const Matrix<double>& m);
Vector<double> singular_values_by_eigen(const Matrix<double>& m);

}  // namespace gradscope
