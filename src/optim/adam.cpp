#include "gradscope/optim/adam.hpp"

#include <cmath>

#include "gradscope/core/error.hpp"
#include "gradscope/core/norms.hpp"

namespace gradscope {

template <typename Scalar>
Adam<Scalar>::Adam(const OptimizerSpec& spec) : spec_(spec) {
  // The values torch.optim.Adam rejects; `!(x >= 0)` also rejects NaN.
  if (!(spec_.lr >= 0.0)) throw_bad_input("adam: learning rate must be >= 0, got {}", spec_.lr);
  if (!(spec_.eps >= 0.0)) throw_bad_input("adam: eps must be >= 0, got {}", spec_.eps);
  if (!(spec_.beta1 >= 0.0 && spec_.beta1 < 1.0)) {
    throw_bad_input("adam: beta1 must be in [0, 1), got {}", spec_.beta1);
  }
  if (!(spec_.beta2 >= 0.0 && spec_.beta2 < 1.0)) {
    throw_bad_input("adam: beta2 must be in [0, 1), got {}", spec_.beta2);
  }
  if (!(spec_.weight_decay >= 0.0)) {
    throw_bad_input("adam: weight decay must be >= 0, got {}", spec_.weight_decay);
  }
}

template <typename Scalar>
void Adam<Scalar>::prepare(const std::vector<Param<Scalar>>& params) {
  if (layout_.record_or_check("adam", params)) {
    first_moment_.clear();
    second_moment_.clear();
    decayed_grad_.clear();
    for (const Param<Scalar>& param : params) {
      const Index rows = param.value->rows();
      const Index cols = param.value->cols();
      first_moment_.push_back(Matrix<Scalar>::Zero(rows, cols));
      second_moment_.push_back(Matrix<Scalar>::Zero(rows, cols));
      if (spec_.weight_decay != 0.0) decayed_grad_.emplace_back(rows, cols);
    }
  }
  ++step_count_;
  // Bias corrections in double, as torch computes them in Python floats.
  const double t = static_cast<double>(step_count_);
  step_size_ = spec_.lr / (1.0 - std::pow(spec_.beta1, t));
  bias_correction2_sqrt_ = std::sqrt(1.0 - std::pow(spec_.beta2, t));
}

template <typename Scalar>
double Adam<Scalar>::update_param(const Param<Scalar>& param, std::size_t i, bool want_norm) {
  const Scalar step_size = static_cast<Scalar>(step_size_);
  const Scalar bias_correction2_sqrt = static_cast<Scalar>(bias_correction2_sqrt_);
  const Scalar beta1 = static_cast<Scalar>(spec_.beta1);
  const Scalar beta2 = static_cast<Scalar>(spec_.beta2);
  const Scalar one_minus_beta1 = static_cast<Scalar>(1.0 - spec_.beta1);
  const Scalar one_minus_beta2 = static_cast<Scalar>(1.0 - spec_.beta2);
  const Scalar eps = static_cast<Scalar>(spec_.eps);
  Matrix<Scalar>& p = *param.value;
  const Matrix<Scalar>* g = param.grad;
  if (spec_.weight_decay != 0.0) {
    decayed_grad_[i].array() = g->array() + static_cast<Scalar>(spec_.weight_decay) * p.array();
    g = &decayed_grad_[i];
  }
  Matrix<Scalar>& m = first_moment_[i];
  Matrix<Scalar>& v = second_moment_[i];
  m.array() = beta1 * m.array() + one_minus_beta1 * g->array();
  v.array() = beta2 * v.array() + one_minus_beta2 * g->array().square();
  if (!want_norm) {
    p.array() -= step_size * (m.array() / (v.array().sqrt() / bias_correction2_sqrt + eps));
    return 0.0;
  }
  update_ = (step_size * (m.array() / (v.array().sqrt() / bias_correction2_sqrt + eps))).matrix();
  p -= update_;
  return stable_norm<Scalar>(update_);
}

template class Adam<float>;
template class Adam<double>;

}  // namespace gradscope
