// Adam, torch.optim.Adam (not AdamW):
//   g <- grad + weight_decay p
//   m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2;   t <- t + 1
//   p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
// m and v start at zero. As in torch, the bias corrections are computed in double and the
// update is evaluated as p - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps).
#pragma once

#include <vector>

#include "gradscope/optim/optimizer.hpp"

namespace gradscope {

template <typename Scalar>
class Adam final : public Optimizer<Scalar> {
 public:
  explicit Adam(const OptimizerSpec& spec);
  double learning_rate() const override { return spec_.lr; }
  void set_learning_rate(double lr) override { spec_.lr = lr; }

 protected:
  void prepare(const std::vector<Param<Scalar>>& params) override;
  double update_param(const Param<Scalar>& param, std::size_t i, bool want_norm) override;

 private:
  OptimizerSpec spec_;
  Matrix<Scalar> update_;  // the step itself, kept only when its norm is asked for
  ParamLayout layout_;
  long step_count_ = 0;
  // The step's bias corrections: lr / (1 - b1^t) and sqrt(1 - b2^t).
  double step_size_ = 0.0;
  double bias_correction2_sqrt_ = 0.0;
  std::vector<Matrix<Scalar>> first_moment_;
  std::vector<Matrix<Scalar>> second_moment_;
  // grad + weight_decay p, per parameter; empty when weight_decay == 0.
  std::vector<Matrix<Scalar>> decayed_grad_;
};

}  // namespace gradscope
