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
void Adam<Scalar>::apply(const std::vector<Param<Scalar>>& params,
                         std::vector<double>* update_norms) {
  const bool first = layout_.record_or_check("adam", params);
  const bool use_decay = spec_.weight_decay != 0.0;
  if (first) {
    first_moment_.clear();
    second_moment_.clear();
    decayed_grad_.clear();
    for (const Param<Scalar>& param : params) {
      const Index rows = param.value->rows();
      const Index cols = param.value->cols();
      first_moment_.push_back(Matrix<Scalar>::Zero(rows, cols));
      second_moment_.push_back(Matrix<Scalar>::Zero(rows, cols));
      if (use_decay) decayed_grad_.emplace_back(rows, cols);
    }
  }
  ++step_count_;
  // Bias corrections in double, as torch computes them in Python floats.
  const double t = static_cast<double>(step_count_);
  const double bias_correction1 = 1.0 - std::pow(spec_.beta1, t);
  const double bias_correction2 = 1.0 - std::pow(spec_.beta2, t);
  const Scalar step_size = static_cast<Scalar>(spec_.lr / bias_correction1);
  const Scalar bias_correction2_sqrt = static_cast<Scalar>(std::sqrt(bias_correction2));
  const Scalar beta1 = static_cast<Scalar>(spec_.beta1);
  const Scalar beta2 = static_cast<Scalar>(spec_.beta2);
  const Scalar one_minus_beta1 = static_cast<Scalar>(1.0 - spec_.beta1);
  const Scalar one_minus_beta2 = static_cast<Scalar>(1.0 - spec_.beta2);
  const Scalar eps = static_cast<Scalar>(spec_.eps);
  const Scalar decay = static_cast<Scalar>(spec_.weight_decay);

  for (std::size_t i = 0; i < params.size(); ++i) {
    Matrix<Scalar>& p = *params[i].value;
    const Matrix<Scalar>* g = params[i].grad;
    if (use_decay) {
      decayed_grad_[i].array() = g->array() + decay * p.array();
      g = &decayed_grad_[i];
    }
    Matrix<Scalar>& m = first_moment_[i];
    Matrix<Scalar>& v = second_moment_[i];
    m.array() = beta1 * m.array() + one_minus_beta1 * g->array();
    v.array() = beta2 * v.array() + one_minus_beta2 * g->array().square();
    if (update_norms != nullptr) {
      update_ =
          (step_size * (m.array() / (v.array().sqrt() / bias_correction2_sqrt + eps))).matrix();
      p -= update_;
      (*update_norms)[i] = stable_norm<Scalar>(update_);
    } else {
      p.array() -= step_size * (m.array() / (v.array().sqrt() / bias_correction2_sqrt + eps));
    }
  }
}

template class Adam<float>;
template class Adam<double>;

}  // namespace gradscope
