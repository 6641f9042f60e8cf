#include "gradscope/rnn/recurrent_init.hpp"

#include <cmath>

#include "gradscope/core/error.hpp"
#include "gradscope/init/initializer.hpp"
#include "gradscope/init/spectral_radius.hpp"

namespace gradscope {
namespace {

// Applies `fill` to each (H, H) gate block of W_hh in row order (the draws follow that order).
template <typename Scalar, typename Fill>
void for_each_gate_block(RecurrentLayer<Scalar>& layer, Fill fill) {
  const Index hidden = layer.hidden_size();
  Matrix<Scalar>& w = layer.weight_hh();  // (G H, H)
  Matrix<Scalar> block(hidden, hidden);
  for (Index gate = 0; gate < layer.gates(); ++gate) {
    block = w.middleRows(gate * hidden, hidden);
    fill(block);
    w.middleRows(gate * hidden, hidden) = block;
  }
}

}  // namespace

template <typename Scalar>
void init_pytorch_default(RecurrentLayer<Scalar>& layer, Rng& rng) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(layer.hidden_size()));
  for (Param<Scalar>& p : layer.params()) {
    *p.value = rng.uniform_matrix<Scalar>(p.value->rows(), p.value->cols(), -bound, bound);
  }
}

template <typename Scalar>
void init_pytorch_default(RecurrentStack<Scalar>& stack, Rng& rng) {
  for (Index k = 0; k < stack.size(); ++k) init_pytorch_default(stack.layer(k), rng);
}

template <typename Scalar>
void set_forget_bias(LstmLayer<Scalar>& layer, double bias) {
  if (!std::isfinite(bias)) throw_bad_input("LSTM forget bias must be finite, got {}", bias);
  const Index hidden = layer.hidden_size();
  // Rows [H, 2H) are the f gate (order i, f, g, o); the gate sees bias_ih + bias_hh.
  layer.bias_ih().middleRows(hidden, hidden).setConstant(static_cast<Scalar>(bias));
  layer.bias_hh().middleRows(hidden, hidden).setZero();
}

template <typename Scalar>
void set_forget_bias(RecurrentStack<Scalar>& stack, double bias) {
  for (Index k = 0; k < stack.size(); ++k) {
    auto* lstm = dynamic_cast<LstmLayer<Scalar>*>(&stack.layer(k));
    if (lstm == nullptr) {
      throw_bad_input("forget bias: layer {} is {}, not an LSTM", k, stack.layer(k).kind());
    }
    set_forget_bias(*lstm, bias);
  }
}

template <typename Scalar>
void orthogonal_hidden(RecurrentLayer<Scalar>& layer, double gain, Rng& rng) {
  for_each_gate_block(layer, [&](Matrix<Scalar>& block) { orthogonal(block, gain, rng); });
}

template <typename Scalar>
void identity_hidden(RecurrentLayer<Scalar>& layer, double gain) {
  for_each_gate_block(layer, [&](Matrix<Scalar>& block) { identity(block, gain); });
}

template <typename Scalar>
void scale_hidden_to_spectral_radius(RecurrentLayer<Scalar>& layer, double rho) {
  for_each_gate_block(layer, [&](Matrix<Scalar>& block) { scale_to_spectral_radius(block, rho); });
}

#define GRADSCOPE_INSTANTIATE_RECURRENT_INIT(Scalar)                              \
  template void init_pytorch_default<Scalar>(RecurrentLayer<Scalar>&, Rng&);      \
  template void init_pytorch_default<Scalar>(RecurrentStack<Scalar>&, Rng&);      \
  template void set_forget_bias<Scalar>(LstmLayer<Scalar>&, double);              \
  template void set_forget_bias<Scalar>(RecurrentStack<Scalar>&, double);         \
  template void orthogonal_hidden<Scalar>(RecurrentLayer<Scalar>&, double, Rng&); \
  template void identity_hidden<Scalar>(RecurrentLayer<Scalar>&, double);         \
  template void scale_hidden_to_spectral_radius<Scalar>(RecurrentLayer<Scalar>&, double);
GRADSCOPE_INSTANTIATE_RECURRENT_INIT(float)
GRADSCOPE_INSTANTIATE_RECURRENT_INIT(double)
#undef GRADSCOPE_INSTANTIATE_RECURRENT_INIT

}  // namespace gradscope
