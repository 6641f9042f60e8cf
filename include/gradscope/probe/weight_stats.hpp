// ||W||, ||dW|| and ||W - W0|| of one weight matrix, as the probes report them.
#pragma once

#include "gradscope/core/types.hpp"

namespace gradscope {

struct WeightStats {
  double norm = 0.0;       // ||W||_F
  double grad_norm = 0.0;  // ||dW||_F
  double distance = 0.0;   // ||W - W0||_F
};

// The three norms in one pass, column by column, so that W, dW and W0 are each read once (the
// probes run on every observed step, and W0 comes from far in the cache). Falls back to the
// separate stable norms of core/norms.hpp when a sum left the range where nothing can have
// under- or overflowed; a NaN or Inf entry makes the corresponding norm non-finite.
template <typename Scalar>
WeightStats weight_stats(const Matrix<Scalar>& w, const Matrix<Scalar>& dw,
                         const Matrix<Scalar>& w0);

}  // namespace gradscope
