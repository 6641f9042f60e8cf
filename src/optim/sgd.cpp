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
void Sgd<Scalar>::apply(const std::vector<Param<Scalar>>& params,
                        std::vector<double>* update_norms) {
  const bool first = layout_.record_or_check("sgd", params);
  const bool use_momentum = spec_.momentum != 0.0;
  const bool use_decay = spec_.weight_decay != 0.0;
  if (first) {
    velocity_.assign(use_momentum ? params.size() : 0, Matrix<Scalar>());
    decayed_grad_.clear();
    if (use_decay) {
      for (const Param<Scalar>& param : params) {
        decayed_grad_.emplace_back(param.value->rows(), param.value->cols());
      }
    }
  }
  const Scalar lr = static_cast<Scalar>(spec_.lr);
  const Scalar momentum = static_cast<Scalar>(spec_.momentum);
  const Scalar decay = static_cast<Scalar>(spec_.weight_decay);

  for (std::size_t i = 0; i < params.size(); ++i) {
    Matrix<Scalar>& p = *params[i].value;
    const Matrix<Scalar>* g = params[i].grad;
    if (use_decay) {
      decayed_grad_[i].array() = g->array() + decay * p.array();
      g = &decayed_grad_[i];
    }
    const bool want_norm = update_norms != nullptr;
    if (!use_momentum) {
      const double norm = descend(p, *g, lr, want_norm);
      if (want_norm) (*update_norms)[i] = spec_.lr * norm;
      continue;
    }
    Matrix<Scalar>& v = velocity_[i];
    if (first) {
      v = *g;  // torch starts the buffer at g, not at zero
    } else {
      v.array() = momentum * v.array() + g->array();
    }
    if (spec_.nesterov) {
      if (want_norm) {
        update_ = (lr * (g->array() + momentum * v.array())).matrix();
        p -= update_;
        (*update_norms)[i] = stable_norm<Scalar>(update_);
      } else {
        p.array() -= lr * (g->array() + momentum * v.array());
      }
    } else {
      const double norm = descend(p, v, lr, want_norm);
      if (want_norm) (*update_norms)[i] = spec_.lr * norm;
    }
  }
}

template class Sgd<float>;
template class Sgd<double>;

}  // namespace gradscope
