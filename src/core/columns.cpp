#include "gradscope/core/columns.hpp"

#include "gradscope/core/error.hpp"

namespace gradscope {

template <typename Scalar>
void add_column_sum(const ConstMatrixRef<Scalar>& m, MatrixRef<Scalar> out) {
  GRADSCOPE_CHECK(out.rows() == m.rows() && out.cols() == 1, "column sum: ({} x {}) into ({} x {})",
                  m.rows(), m.cols(), out.rows(), out.cols());
  for (Index j = 0; j < m.cols(); ++j) out.col(0) += m.col(j);
}

template <typename Scalar>
void fill_columns(MatrixRef<Scalar> out, const ConstMatrixRef<Scalar>& column) {
  GRADSCOPE_CHECK(column.rows() == out.rows() && column.cols() == 1,
                  "fill columns: ({} x {}) into ({} x {}) columns", column.rows(), column.cols(),
                  out.rows(), out.cols());
  for (Index j = 0; j < out.cols(); ++j) out.col(j) = column.col(0);
}

template void add_column_sum<float>(const ConstMatrixRef<float>&, MatrixRef<float>);
template void add_column_sum<double>(const ConstMatrixRef<double>&, MatrixRef<double>);
template void fill_columns<float>(MatrixRef<float>, const ConstMatrixRef<float>&);
template void fill_columns<double>(MatrixRef<double>, const ConstMatrixRef<double>&);

}  // namespace gradscope
