// GRU layer, torch.nn.GRU (G = 3, gate rows in PyTorch's order r, z, n).
//
//   forward   r   = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
//             z   = sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
//             hn  = W_hn h_{t-1} + b_hn                             (kept for backward)
//             n   = tanh(W_in x_t + b_in + r * hn)
//             h_t = (1 - z) * n + z * h_{t-1}                       (computed n + z (h_{t-1} - n))
//   backward  (t = T-1 .. 0; the term from step T is dfinal.h, or 0)
//             dh_t  = dy_t + W_hh^T dA_hh,{t+1} + dh_{t+1} * z_{t+1}             total dL/dh_t
//             da_n  = dh_t * (1 - z) * (1 - n^2)
//             da_z  = dh_t * (h_{t-1} - n) * z (1 - z)
//             da_r  = da_n * hn * r (1 - r)
//             dA_ih = [da_r; da_z; da_n]          gradient of W_ih x_t + b_ih
//             dA_hh = [da_r; da_z; da_n * r]      gradient of W_hh h_{t-1} + b_hh (r gates hn)
//             dh_{-1} = W_hh^T dA_hh,0 + dh_0 * z_0                       (dinitial.h, assigned)
//             dW_ih += dA_ih X^T, dW_hh += dA_hh H_prev^T, db_ih += dA_ih 1, db_hh += dA_hh 1,
//             dx = W_ih^T dA_ih
//   jacobian  dh_t/dh_{t-1} = diag(z) + diag(1 - z) N' + diag(h_{t-1} - n) Z',
//             Z' = diag(z(1-z)) W_hz,  R' = diag(r(1-r)) W_hr,
//             N' = diag(1 - n^2) (diag(r) W_hn + diag(hn) R')
// Derivation: docs/derivations/gru.md.
#pragma once

#include "gradscope/rnn/recurrent_layer.hpp"

namespace gradscope {

template <typename Scalar>
class GruLayer final : public RecurrentLayer<Scalar> {
 public:
  using typename RecurrentLayer<Scalar>::Mat;
  using typename RecurrentLayer<Scalar>::ConstRef;
  using typename RecurrentLayer<Scalar>::Ref;

  GruLayer(Index input_size, Index hidden_size);

  Mat step_jacobian(const RecurrentRecord<Scalar>& record, Index t, Index sample) const override;
  // Mean of tanh'(a_n) = 1 - n_t^2.
  double mean_activation_derivative(const RecurrentRecord<Scalar>& record, Index t) const override;
  // Mean update gate z_t (z = 1 keeps h_{t-1}).
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
