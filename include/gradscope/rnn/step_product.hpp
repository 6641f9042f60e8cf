// The one matrix product a recurrent layer does inside its time loop, without heap allocation.
//
//   forward   dst (G H, B) += W_hh (G H, H)   h_{t-1} (H, B)
//   backward  dst (H, B)   += W_hh^T (H, G H) dz_t (G H, B), with W_hh^T copied out once per
//                             backward (RecurrentGradients::weight_hh_t)
//
// Eigen's matrix product allocates its packing buffers on the heap for every call once they pass
// EIGEN_STACK_ALLOCATION_LIMIT (128 KiB): already at H = 128 with four gates, so T steps would
// cost T mallocs. StepProduct keeps those buffers between calls and reallocates only when the
// product's shape changes. It calls Eigen 3.4's internal GEMM routine (the one Eigen's own
// products call), which is why the implementation is kept to one source file.
#pragma once

#include <memory>

#include "gradscope/core/types.hpp"

namespace gradscope {

template <typename Scalar>
class StepProduct {
 public:
  StepProduct();
  ~StepProduct();
  // Copies start without buffers (they are scratch, not state).
  StepProduct(const StepProduct& other);
  StepProduct& operator=(const StepProduct& other);
  StepProduct(StepProduct&& other) noexcept;
  StepProduct& operator=(StepProduct&& other) noexcept;

  // dst += W rhs. W is column-major and contiguous; rhs and dst are views with unit inner stride.
  void add(const Matrix<Scalar>& w, const ConstMatrixRef<Scalar>& rhs, MatrixRef<Scalar> dst);

 private:
  struct Buffers;
  std::unique_ptr<Buffers> buffers_;
};

}  // namespace gradscope
