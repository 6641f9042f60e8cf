// Scalar, matrix and view aliases shared by every part of gradscope.
//
// Convention: a batch is a matrix with one COLUMN per sample, shape (features, batch), so each
// sample is contiguous in Eigen's column-major storage and a layer is y = W x + b.
#pragma once

// g++ 12 reports '__Y is used uninitialized' inside its own avx512fintrin.h when Eigen is
// compiled for AVX-512 (GCC bug 105593, a false positive in the compiler's header). The warning
// is silenced for the lines of those headers only; it stays on for gradscope's own code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <Eigen/Core>
#pragma GCC diagnostic pop
#include <cstdint>

namespace gradscope {

using Index = Eigen::Index;

template <typename Scalar>
using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
template <typename Scalar>
using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

// Non-template functions take views so that blocks and columns pass without copies.
template <typename Scalar>
using MatrixRef = Eigen::Ref<Matrix<Scalar>>;
template <typename Scalar>
using ConstMatrixRef = Eigen::Ref<const Matrix<Scalar>>;

// Every templated kernel is instantiated for exactly these two: float for training speed,
// double for gradient checks and long Jacobian products.
#define GRADSCOPE_INSTANTIATE(TEMPLATE) \
  template TEMPLATE<float>;             \
  template TEMPLATE<double>;

}  // namespace gradscope
