// Column-by-column kernels for the bias of a layer. A batch is one column per sample, so both
// run down contiguous memory; Eigen's rowwise().sum() walks a column-major matrix across its rows
// and replicate() evaluates an index modulo per coefficient, both several times slower.
#pragma once

#include "gradscope/core/types.hpp"

namespace gradscope {

// out (n x 1) += the sum of m's columns: a bias gradient summed over the batch (and the steps).
template <typename Scalar>
void add_column_sum(const ConstMatrixRef<Scalar>& m, MatrixRef<Scalar> out);

// Every column of out = column (n x 1): a bias written before a product accumulates onto it.
template <typename Scalar>
void fill_columns(MatrixRef<Scalar> out, const ConstMatrixRef<Scalar>& column);

}  // namespace gradscope
