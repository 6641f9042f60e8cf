// Elman RNN layer, torch.nn.RNN with nonlinearity 'tanh' or 'relu' (G = 1).
//
//   forward   z_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh        (H, B)
//             h_t = phi(z_t),  phi = tanh or relu
//   backward  (t = T-1 .. 0; dh_T-side term is dfinal.h, or 0)
//             dh_t      = dy_t + W_hh^T dz_{t+1}                total dL/dh_t
//             dz_t      = dh_t * phi'(z_t),  tanh' = 1 - h_t^2, relu' = [h_t > 0]
//             dh_{-1}   = W_hh^T dz_0                           (dinitial.h, assigned)
//             dW_ih += dZ X^T,  dW_hh += dZ H_prev^T,  db_ih += dZ 1,  db_hh += dZ 1
//             dx = W_ih^T dZ                                    (assigned)
//   jacobian  J_t = dh_t/dh_{t-1} = diag(phi'(z_t)) W_hh
// Derivation: docs/derivations/rnn.md.
#pragma once

#include "gradscope/nn/activation.hpp"
#include "gradscope/rnn/recurrent_layer.hpp"

namespace gradscope {

template <typename Scalar>
class RnnLayer final : public RecurrentLayer<Scalar> {
 public:
  using typename RecurrentLayer<Scalar>::Mat;
  using typename RecurrentLayer<Scalar>::ConstRef;
  using typename RecurrentLayer<Scalar>::Ref;

  // nonlinearity: kTanh or kRelu (PyTorch's only two); bad-input Error otherwise.
  RnnLayer(Index input_size, Index hidden_size,
           ActivationKind nonlinearity = ActivationKind::kTanh);

  Mat step_jacobian(const RecurrentRecord<Scalar>& record, Index t, Index sample) const override;
  double mean_activation_derivative(const RecurrentRecord<Scalar>& record, Index t) const override;
  std::optional<double> mean_keep_gate(const RecurrentRecord<Scalar>& record,
                                       Index t) const override;
  std::unique_ptr<RecurrentLayer<Scalar>> clone() const override;

  ActivationKind nonlinearity() const { return nonlinearity_; }

 private:
  using typename RecurrentLayer<Scalar>::Samples;
  void prepare_window(ConstRef x, const RecurrentState<Scalar>& initial,
                      RecurrentRecord<Scalar>& record) const override;
  void forward_samples(ConstRef x, RecurrentRecord<Scalar>& record, Samples samples,
                       StepProduct<Scalar>& product) const override;
  void backward_chunk(const RecurrentRecord<Scalar>& record, ConstRef dy,
                      const RecurrentState<Scalar>* dfinal, RecurrentGradients<Scalar>& grads,
                      Samples samples, StepProduct<Scalar>& product) override;

  ActivationKind nonlinearity_;
};

}  // namespace gradscope
