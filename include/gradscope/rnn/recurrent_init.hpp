// Initialisation helpers for recurrent layers (the caller may also fill params() directly).
//
//   init_pytorch_default      every parameter ~ U(-1/sqrt(H), 1/sqrt(H)), as reset_parameters of
//                             torch.nn.RNN/LSTM/GRU; drawn weight_ih, weight_hh, bias_ih, bias_hh
//                             in that order (same distribution as PyTorch, not PyTorch's numbers)
//   set_forget_bias(b)        LSTM: the f rows of bias_ih = b and of bias_hh = 0. PyTorch adds the
//                             two biases, so the forget gate's total bias is exactly b (b = 1 is
//                             Jozefowicz et al. 2015's advice: f = sigma(1) ~ 0.73 at the start)
//   orthogonal_hidden         W_hh: each (H, H) gate block independently gain * Q (Q orthogonal,
//                             init/initializer.hpp's orthogonal())
//   identity_hidden           W_hh: each gate block gain * I (Le et al. 2015's IRNN with relu)
//   scale_hidden_to_spectral_radius
//                             W_hh: each gate block scaled to spectral radius rho
// The LSTM and GRU get one block per gate because each gate is its own linear map of h_{t-1}:
// the gate's Jacobian factor is diag(gate') W_h<gate>, so its block's spectrum is what matters
// (for the RNN, G = 1 and the block is all of W_hh).
#pragma once

#include "gradscope/core/random.hpp"
#include "gradscope/rnn/lstm_layer.hpp"
#include "gradscope/rnn/recurrent_layer.hpp"
#include "gradscope/rnn/recurrent_stack.hpp"

namespace gradscope {

template <typename Scalar>
void init_pytorch_default(RecurrentLayer<Scalar>& layer, Rng& rng);
template <typename Scalar>
void init_pytorch_default(RecurrentStack<Scalar>& stack, Rng& rng);

template <typename Scalar>
void set_forget_bias(LstmLayer<Scalar>& layer, double bias);
// Every LSTM layer of the stack; throws a bad-input Error if the stack has a non-LSTM layer.
template <typename Scalar>
void set_forget_bias(RecurrentStack<Scalar>& stack, double bias);

template <typename Scalar>
void orthogonal_hidden(RecurrentLayer<Scalar>& layer, double gain, Rng& rng);
template <typename Scalar>
void identity_hidden(RecurrentLayer<Scalar>& layer, double gain = 1.0);
// Throws a bad-input Error if a block has spectral radius 0 (nothing to scale).
template <typename Scalar>
void scale_hidden_to_spectral_radius(RecurrentLayer<Scalar>& layer, double rho);

}  // namespace gradscope
