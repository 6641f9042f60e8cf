#include "gradscope/rnn/step_product.hpp"

#include "gradscope/core/error.hpp"

#if !EIGEN_VERSION_AT_LEAST(3, 4, 0)
#error "StepProduct calls Eigen 3.4's internal general_matrix_matrix_product"
#endif

namespace gradscope {

// The packing space of one (rows x depth) * (depth x cols) product, as Eigen sizes it for a
// single-threaded column-major GEMM (gemm_blocking_space with dynamic sizes).
template <typename Scalar>
struct StepProduct<Scalar>::Buffers {
  using Blocking =
      Eigen::internal::gemm_blocking_space<Eigen::ColMajor, Scalar, Scalar, Eigen::Dynamic,
                                           Eigen::Dynamic, Eigen::Dynamic, 1, false>;
  Buffers(Index r, Index c, Index d)
      : rows(r), cols(c), depth(d), blocking(r, c, d, /*num_threads=*/1, /*l3_blocking=*/true) {
    blocking.allocateAll();
  }
  Index rows;
  Index cols;
  Index depth;
  Blocking blocking;
};

template <typename Scalar>
StepProduct<Scalar>::StepProduct() = default;
template <typename Scalar>
StepProduct<Scalar>::~StepProduct() = default;
template <typename Scalar>
StepProduct<Scalar>::StepProduct(const StepProduct& /*other*/) {}
template <typename Scalar>
StepProduct<Scalar>& StepProduct<Scalar>::operator=(const StepProduct& other) {
  if (this != &other) buffers_.reset();
  return *this;
}
template <typename Scalar>
StepProduct<Scalar>::StepProduct(StepProduct&& other) noexcept = default;
template <typename Scalar>
StepProduct<Scalar>& StepProduct<Scalar>::operator=(StepProduct&& other) noexcept = default;

template <typename Scalar>
void StepProduct<Scalar>::add(const Matrix<Scalar>& w, const ConstMatrixRef<Scalar>& rhs,
                              MatrixRef<Scalar> dst) {
  const Index rows = w.rows();
  const Index depth = w.cols();
  const Index cols = rhs.cols();
  GRADSCOPE_CHECK(rhs.rows() == depth && dst.rows() == rows && dst.cols() == cols,
                  "step product: ({}x{}) * ({}x{}) into ({}x{})", rows, depth, rhs.rows(), cols,
                  dst.rows(), dst.cols());
  GRADSCOPE_CHECK(rhs.innerStride() == 1 && dst.innerStride() == 1,
                  "step product: views must have unit inner stride");
  if (rows == 0 || cols == 0 || depth == 0) return;
  if (!buffers_ || buffers_->rows != rows || buffers_->cols != cols || buffers_->depth != depth) {
    buffers_ = std::make_unique<Buffers>(rows, cols, depth);
  }
  Eigen::internal::general_matrix_matrix_product<Index, Scalar, Eigen::ColMajor, false, Scalar,
                                                 Eigen::ColMajor, false, Eigen::ColMajor,
                                                 1>::run(rows, cols, depth, w.data(), w.rows(),
                                                         rhs.data(), rhs.outerStride(), dst.data(),
                                                         1, dst.outerStride(), Scalar(1),
                                                         buffers_->blocking, nullptr);
}

template class StepProduct<float>;
template class StepProduct<double>;

}  // namespace gradscope
