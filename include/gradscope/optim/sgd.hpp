// Stochastic gradient descent with momentum, torch.optim.SGD (dampening 0):
//   g <- grad + weight_decay p
//   v <- momentum v + g          (v = g on the first step)
//   p <- p - lr (nesterov ? g + momentum v : v)      (momentum 0: p <- p - lr g)
#pragma once

#include <vector>

#include "gradscope/optim/optimizer.hpp"

namespace gradscope {

template <typename Scalar>
class Sgd final : public Optimizer<Scalar> {
 public:
  explicit Sgd(const OptimizerSpec& spec);
  double learning_rate() const override { return spec_.lr; }
  void set_learning_rate(double lr) override { spec_.lr = lr; }

 protected:
  void prepare(const std::vector<Param<Scalar>>& params) override;
  double update_param(const Param<Scalar>& param, std::size_t i, bool want_norm) override;

 private:
  OptimizerSpec spec_;
  Matrix<Scalar> update_;  // the step itself, kept only when its norm is asked for
  ParamLayout layout_;
  bool first_step_ = false;  // the step being taken is the first (velocity starts at g)
  std::vector<Matrix<Scalar>> velocity_;  // per parameter; empty when momentum == 0
  // grad + weight_decay p, per parameter; empty when weight_decay == 0 (torch then uses grad
  // itself, so a non-finite p does not leak into the step through 0 * p).
  std::vector<Matrix<Scalar>> decayed_grad_;
};

}  // namespace gradscope
