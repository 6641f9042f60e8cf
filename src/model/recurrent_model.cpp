#include "gradscope/model/recurrent_model.hpp"

#include <algorithm>
#include <cmath>

#include "gradscope/core/error.hpp"
#include "gradscope/core/memory.hpp"
#include "gradscope/rnn/recurrent_init.hpp"

namespace gradscope {

HiddenInit parse_hidden_init(const std::string& name) {
  if (name == "default") return HiddenInit::kDefault;
  if (name == "orthogonal") return HiddenInit::kOrthogonal;
  if (name == "identity") return HiddenInit::kIdentity;
  throw_bad_input("unknown recurrent init '{}' (expected default, orthogonal, identity)", name);
}

std::string_view hidden_init_name(HiddenInit init) {
  switch (init) {
    case HiddenInit::kDefault:
      return "default";
    case HiddenInit::kOrthogonal:
      return "orthogonal";
    case HiddenInit::kIdentity:
      return "identity";
  }
  return "default";
}

nlohmann::json to_json(const RecurrentSpec& spec, Index steps) {
  const auto optional = [](const std::optional<double>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json();
  };
  const bool vanilla = spec.cell == CellKind::kRnnTanh || spec.cell == CellKind::kRnnRelu;
  return {{"model", vanilla ? std::string_view("rnn") : cell_name(spec.cell)},
          {"cell", cell_name(spec.cell)},
          {"hidden", spec.hidden},
          {"layers", spec.layers},
          {"inputs", spec.inputs},
          {"outputs", spec.outputs},
          {"seq", steps},
          {"tbptt", spec.tbptt},
          {"init", hidden_init_name(spec.hidden_init)},
          {"rho", optional(spec.rho)},
          {"forget_bias", optional(spec.forget_bias)},
          {"head", spec.head == HeadPlacement::kLastStep ? "last_step" : "every_step"}};
}

void validate(const RecurrentSpec& spec) {
  if (spec.inputs < 1) throw_bad_input("inputs must be at least 1, got {}", spec.inputs);
  if (spec.hidden < 1) throw_bad_input("hidden must be at least 1, got {}", spec.hidden);
  if (spec.layers < 1) throw_bad_input("layers must be at least 1, got {}", spec.layers);
  if (spec.outputs < 1) throw_bad_input("outputs must be at least 1, got {}", spec.outputs);
  if (spec.tbptt < 0) throw_bad_input("tbptt must be >= 0, got {}", spec.tbptt);
  if (spec.rho && (!(*spec.rho > 0) || !std::isfinite(*spec.rho))) {
    throw_bad_input("rho must be a finite number > 0, got {}", *spec.rho);
  }
  if (spec.forget_bias && spec.cell != CellKind::kLstm) {
    throw_bad_input("forget-bias applies to LSTMs only, not {}", cell_name(spec.cell));
  }
  if (spec.forget_bias && !std::isfinite(*spec.forget_bias)) {
    throw_bad_input("forget-bias must be finite, got {}", *spec.forget_bias);
  }
}

std::uint64_t estimate_training_bytes(const RecurrentSpec& spec, Index steps, Index batch,
                                      std::size_t scalar_bytes) {
  const double gates = static_cast<double>(gate_count(spec.cell));
  const double h = static_cast<double>(spec.hidden);
  const double per_layer_params = gates * h * (h + static_cast<double>(spec.inputs) + 2.0);
  const double params = static_cast<double>(spec.layers) * per_layer_params;
  // per step and sample: states, gates, their gradients and the auxiliary buffers, per layer
  const double per_step = static_cast<double>(spec.layers) * (4.0 * gates * h + 6.0 * h) +
                          static_cast<double>(spec.inputs);
  const double total =
      (5.0 * params + per_step * static_cast<double>(steps) * static_cast<double>(batch)) *
      static_cast<double>(scalar_bytes);
  return saturating_bytes(total);
}

template <typename Scalar>
RecurrentModel<Scalar>::RecurrentModel(const RecurrentSpec& spec, Rng& rng)
    : spec_(spec),
      stack_(spec.cell, spec.inputs, spec.hidden, spec.layers),
      head_(spec.hidden, spec.outputs),
      unroller_(stack_, spec.tbptt) {
  validate(spec);
  init_pytorch_default(stack_, rng);
  for (Index k = 0; k < stack_.size(); ++k) {
    RecurrentLayer<Scalar>& layer = stack_.layer(k);
    if (spec.hidden_init == HiddenInit::kOrthogonal) orthogonal_hidden(layer, 1.0, rng);
    if (spec.hidden_init == HiddenInit::kIdentity) identity_hidden(layer, 1.0);
    if (spec.rho) scale_hidden_to_spectral_radius(layer, *spec.rho);
  }
  if (spec.forget_bias) set_forget_bias(stack_, *spec.forget_bias);
  // nn.Linear's default: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)).
  const double bound = 1.0 / std::sqrt(static_cast<double>(spec.hidden));
  head_.weight() = rng.uniform_matrix<Scalar>(spec.outputs, spec.hidden, -bound, bound);
  head_.bias() = rng.uniform_matrix<Scalar>(spec.outputs, 1, -bound, bound);
}

template <typename Scalar>
const Matrix<Scalar>& RecurrentModel<Scalar>::forward(ConstMatrixRef<Scalar> x, Index batch) {
  const ConstMatrixRef<Scalar> top = unroller_.forward(x, batch);
  Saved<Scalar> unused;
  if (spec_.head == HeadPlacement::kLastStep) {
    output_.resize(spec_.outputs, batch);
    head_.forward(top.rightCols(batch), output_, unused);
  } else {
    output_.resize(spec_.outputs, top.cols());
    head_.forward(top, output_, unused);
  }
  return output_;
}

template <typename Scalar>
void RecurrentModel<Scalar>::backward(ConstMatrixRef<Scalar> doutput,
                                      TimeStepObserver<Scalar>* observer) {
  const ConstMatrixRef<Scalar> top = unroller_.output();
  const Index batch = unroller_.batch();
  Saved<Scalar> unused;
  // Only the last step's columns are ever written on the last-step head (the every-step head
  // writes them all): zeroed once per shape, not per step.
  if (dtop_.rows() != top.rows() || dtop_.cols() != top.cols()) {
    dtop_.setZero(top.rows(), top.cols());
  }
  if (spec_.head == HeadPlacement::kLastStep) {
    dhead_input_.resize(spec_.hidden, batch);
    head_.backward(top.rightCols(batch), output_, unused, doutput, dhead_input_);
    dtop_.rightCols(batch) = dhead_input_;
  } else {
    head_.backward(top, output_, unused, doutput, dtop_);
  }
  unroller_.backward(dtop_, observer);
}

template <typename Scalar>
std::vector<Param<Scalar>> RecurrentModel<Scalar>::params() {
  std::vector<Param<Scalar>> result;
  for (Param<Scalar>& p : stack_.params()) {
    p.name = "rnn." + p.name;
    result.push_back(std::move(p));
  }
  for (Param<Scalar>& p : head_.params()) {
    p.name = "head." + p.name;
    result.push_back(std::move(p));
  }
  return result;
}

template <typename Scalar>
void RecurrentModel<Scalar>::zero_grad() {
  stack_.zero_grad();
  head_.zero_grad();
}

template class RecurrentModel<float>;
template class RecurrentModel<double>;

}  // namespace gradscope
