// LSTM layer, torch.nn.LSTM (G = 4, gate rows in PyTorch's order i, f, g, o; no peepholes).
//
//   forward   a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh        (4H, B), split i, f, g, o
//             i = sigma(a_i), f = sigma(a_f), g = tanh(a_g), o = sigma(a_o)
//             c_t = f * c_{t-1} + i * g
//             h_t = o * tanh(c_t)
//   backward  (t = T-1 .. 0; the terms from step T are dfinal.h, dfinal.c, or 0)
//             dh_t   = dy_t + W_hh^T da_{t+1}                                total dL/dh_t
//             dc_t   = dh_t * o_t * (1 - tanh^2 c_t) + dc_{t+1} * f_{t+1}    total dL/dc_t
//             da_i = dc_t * g * i (1 - i)         da_f = dc_t * c_{t-1} * f (1 - f)
//             da_g = dc_t * i * (1 - g^2)         da_o = dh_t * tanh(c_t) * o (1 - o)
//             dh_{-1} = W_hh^T da_0,  dc_{-1} = dc_0 * f_0                 (dinitial, assigned)
//             dW_ih += dA X^T, dW_hh += dA H_prev^T, db_ih += dA 1, db_hh += dA 1, dx = W_ih^T dA
//   jacobian  state (h, c): dc_t/dc_{t-1} = diag(f_t) (the constant error carousel: with f ~ 1
//             and i ~ 0 it is ~ I), dc_t/dh_{t-1} = diag(c_{t-1}) F + diag(g) I' + diag(i) G',
//             dh_t/dh_{t-1} = diag(tanh c_t) O' + diag(o tanh'(c_t)) dc_t/dh_{t-1},
//             dh_t/dc_{t-1} = diag(o tanh'(c_t) f), with F = diag(f(1-f)) W_hf, I' = diag(i(1-i))
//             W_hi, G' = diag(1-g^2) W_hg, O' = diag(o(1-o)) W_ho.
// Derivation: docs/derivations/lstm.md.
#pragma once

#include "gradscope/rnn/recurrent_layer.hpp"

namespace gradscope {

template <typename Scalar>
class LstmLayer final : public RecurrentLayer<Scalar> {
 public:
  using typename RecurrentLayer<Scalar>::Mat;
  using typename RecurrentLayer<Scalar>::ConstRef;
  using typename RecurrentLayer<Scalar>::Ref;

  LstmLayer(Index input_size, Index hidden_size);

  // (2H x 2H), rows (h_t, c_t), columns (h_{t-1}, c_{t-1}).
  Mat step_jacobian(const RecurrentRecord<Scalar>& record, Index t, Index sample) const override;
  // Mean of tanh'(c_t) = 1 - tanh^2(c_t).
  double mean_activation_derivative(const RecurrentRecord<Scalar>& record, Index t) const override;
  // Mean forget gate f_t.
  std::optional<double> mean_keep_gate(const RecurrentRecord<Scalar>& record,
                                       Index t) const override;
  std::unique_ptr<RecurrentLayer<Scalar>> clone() const override;

 private:
  using typename RecurrentLayer<Scalar>::Samples;
  void prepare_window(ConstRef x, const RecurrentState<Scalar>& initial,
                      RecurrentRecord<Scalar>& record) const override;
  void forward_samples(ConstRef x, RecurrentRecord<Scalar>& record, Samples samples,
                       StepProduct<Scalar>& product) const override;
  void backward_chunk(const RecurrentRecord<Scalar>& record, ConstRef dy,
                      const RecurrentState<Scalar>* dfinal, RecurrentGradients<Scalar>& grads,
                      Samples samples, StepProduct<Scalar>& product) override;
};

}  // namespace gradscope
