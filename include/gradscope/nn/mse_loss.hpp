// Mean squared error, PyTorch's nn.MSELoss(reduction="mean").
//
//   L  = (1 / (n m)) sum_ij (p_ij - t_ij)^2        p, t: (n outputs, m batch)
//   dp = (2 / (n m)) (p - t)
#pragma once

#include "gradscope/nn/loss.hpp"

namespace gradscope {

template <typename Scalar>
class MseLoss final : public Loss<Scalar> {
 public:
  std::string_view name() const override { return "mse"; }
  double evaluate(ConstMatrixRef<Scalar> prediction, const Targets<Scalar>& targets,
                  MatrixRef<Scalar> dprediction) const override;
};

}  // namespace gradscope
