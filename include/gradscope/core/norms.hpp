// Norms that neither underflow nor overflow for the tiny and huge gradients gradscope measures.
//
// Eigen's plain norm() squares entries in the matrix's own precision: a vector of 1e-170 doubles
// (or 1e-25 floats) then reports 0, and 1e200 reports Inf. Every function here first takes the
// fast vectorised sum of squares and, only when that sum left the safe range (or is not finite),
// recomputes it safely: float in double accumulation, double with Eigen's stableNorm().
#pragma once

#include "gradscope/core/types.hpp"

namespace gradscope {

// Frobenius norm of a matrix (Euclidean norm of a vector).
template <typename Scalar>
double stable_norm(const ConstMatrixRef<Scalar>& m);

// ||a - b||_F, without materialising a - b on the fast path.
template <typename Scalar>
double stable_distance(const ConstMatrixRef<Scalar>& a, const ConstMatrixRef<Scalar>& b);

// Per-column (per-sample) Euclidean norms of m in one pass: their mean (DESIGN.md's "gradient
// norm at layer l") and the Frobenius norm of the whole matrix.
struct ColumnNorms {
  double mean = 0.0;
  double total = 0.0;
};
template <typename Scalar>
ColumnNorms column_norms(const ConstMatrixRef<Scalar>& m);

template <typename Scalar>
double mean_column_norm(const ConstMatrixRef<Scalar>& m) {
  return column_norms<Scalar>(m).mean;
}

// True when every entry is finite (no NaN, no +-Inf).
template <typename Scalar>
bool all_finite(const ConstMatrixRef<Scalar>& m);

}  // namespace gradscope
