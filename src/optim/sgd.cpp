#include "gradscope/optim/sgd.hpp"

#include "gradscope/core/error.hpp"
#include "gradscope/core/norms.hpp"

namespace gradscope {

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
    if (!use_momentum) {
      p.array() -= lr * g->array();
      if (update_norms != nullptr) (*update_norms)[i] = spec_.lr * stable_norm<Scalar>(*g);
      continue;
    }
    Matrix<Scalar>& v = velocity_[i];
    if (first) {
      v = *g;  // torch starts the buffer at g, not at zero
    } else {
      v.array() = momentum * v.array() + g->array();
    }
    if (spec_.nesterov) {
      if (update_norms != nullptr) {
        update_ = (lr * (g->array() + momentum * v.array())).matrix();
        p -= update_;
        (*update_norms)[i] = stable_norm<Scalar>(update_);
      } else {
        p.array() -= lr * (g->array() + momentum * v.array());
      }
    } else {
      p.array() -= lr * v.array();
      if (update_norms != nullptr) (*update_norms)[i] = spec_.lr * stable_norm<Scalar>(v);
    }
  }
}

template class Sgd<float>;
template class Sgd<double>;

}  // namespace gradscope
