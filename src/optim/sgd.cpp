#include "gradscope/optim/sgd.hpp"

#include <cmath>

#include "gradscope/core/error.hpp"
#include "gradscope/core/norms.hpp"

namespace gradscope {

namespace {

// p <- p - lr d, returning ||d|| when asked. Column by column, so that each column of d is
// read once for both the update and the norm (the probe asks on every observed step).
template <typename Scalar>
double descend(Matrix<Scalar>& p, const Matrix<Scalar>& d, Scalar lr, bool want_norm) {
  if (!want_norm) {
    p.array() -= lr * d.array();
    return 0.0;
  }
  double squared = 0.0;
  for (Index j = 0; j < p.cols(); ++j) {
    p.col(j).array() -= lr * d.col(j).array();
    squared += static_cast<double>(d.col(j).squaredNorm());
  }
  // Outside this range a column's sum may have under- or overflowed: recompute it safely.
  const bool safe = squared == 0.0 || (squared > 1e-30 && squared < 1e30);
  return safe ? std::sqrt(squared) : stable_norm<Scalar>(d);
}

}  // namespace

template <typename Scalar>
Sgd<Scalar>::Sgd(const OptimizerSpec& spec) : spec_(spec) {
  // The values torch.optim.SGD rejects; `!(x >= 0)` also rejects NaN.
  if (!(spec_.lr >= 0.0)) throw_bad_input("sgd: learning rate must be >= 0, got {}", spec_.lr);
  if (!(spec_.momentum >= 0.0)) {
    throw_bad_input("sgd: momentum must be >= 0, got {}", spec_.momentum);
  }
  if (!(spec_.weight_decay >= 0.0)) {
    throw_bad_input("sgd: weight decay must be >= 0, got {}", spec_.weight_decay);
  }
  if (spec_.nesterov && spec_.momentum == 0.0) {
    throw_bad_input("sgd: nesterov momentum requires momentum > 0");
  }
}

template <typename Scalar>
void Sgd<Scalar>::prepare(const std::vector<Param<Scalar>>& params) {
  first_step_ = layout_.record_or_check("sgd", params);
  if (!first_step_) return;
  velocity_.assign(spec_.momentum != 0.0 ? params.size() : 0, Matrix<Scalar>());
  decayed_grad_.clear();
  if (spec_.weight_decay != 0.0) {
    for (const Param<Scalar>& param : params) {
      decayed_grad_.emplace_back(param.value->rows(), param.value->cols());
    }
  }
}

template <typename Scalar>
double Sgd<Scalar>::update_param(const Param<Scalar>& param, std::size_t i, bool want_norm) {
  const Scalar lr = static_cast<Scalar>(spec_.lr);
  const Scalar momentum = static_cast<Scalar>(spec_.momentum);
  Matrix<Scalar>& p = *param.value;
  const Matrix<Scalar>* g = param.grad;
  if (spec_.weight_decay != 0.0) {
    decayed_grad_[i].array() = g->array() + static_cast<Scalar>(spec_.weight_decay) * p.array();
    g = &decayed_grad_[i];
  }
  if (spec_.momentum == 0.0) return spec_.lr * descend(p, *g, lr, want_norm);
  Matrix<Scalar>& v = velocity_[i];
  if (first_step_) {
    v = *g;  // torch starts the buffer at g, not at zero
  } else {
    v.array() = momentum * v.array() + g->array();
  }
  if (!spec_.nesterov) return spec_.lr * descend(p, v, lr, want_norm);
  if (!want_norm) {
    p.array() -= lr * (g->array() + momentum * v.array());
    return 0.0;
  }
  update_ = (lr * (g->array() + momentum * v.array())).matrix();
  p -= update_;
  return stable_norm<Scalar>(update_);
}

template class Sgd<float>;
template class Sgd<double>;

}  // namespace gradscope
