#include "gradscope/rnn/rnn_layer.hpp"

#include "gradscope/core/error.hpp"

namespace gradscope {

template <typename Scalar>
RnnLayer<Scalar>::RnnLayer(Index input_size, Index hidden_size, ActivationKind nonlinearity)
    : RecurrentLayer<Scalar>(
          nonlinearity == ActivationKind::kRelu ? CellKind::kRnnRelu : CellKind::kRnnTanh,
          input_size, hidden_size),
      nonlinearity_(nonlinearity) {
  if (nonlinearity != ActivationKind::kTanh && nonlinearity != ActivationKind::kRelu) {
    throw_bad_input("rnn: nonlinearity must be tanh or relu (as torch.nn.RNN), got {}",
                    activation_name(nonlinearity));
  }
}

template <typename Scalar>
void RnnLayer<Scalar>::prepare_window(ConstRef x, const RecurrentState<Scalar>& initial,
                                      RecurrentRecord<Scalar>& record) const {
  const Index steps = record.steps;
  const Index batch = record.batch;
  record.hidden.resize(this->hidden_size(), (steps + 1) * batch);
  record.hidden.leftCols(batch) = initial.h;
  record.folded_bias.noalias() = this->bias_ih_ + this->bias_hh_;
  // The pre-activations are built where h_t will live and squashed in place.
  this->project_window(x, record.folded_bias, record.hidden.rightCols(steps * batch));
}

template <typename Scalar>
void RnnLayer<Scalar>::forward_samples(ConstRef x, RecurrentRecord<Scalar>& record, Samples samples,
                                       StepProduct<Scalar>& product) const {
  const Index batch = record.batch;
  for (Index t = 0; t < record.steps; ++t) {
    const Index col = t * batch + samples.first;
    const ConstRef h_prev = record.hidden.middleCols(col, samples.count);
    Ref z = record.hidden.middleCols(col + batch, samples.count);
    this->project_step(x.middleCols(col, samples.count), record.folded_bias, z);
    product.add(this->weight_hh_, h_prev, z);
    if (nonlinearity_ == ActivationKind::kTanh) {
      z.array() = z.array().tanh();
    } else {
      z.array() = z.array().max(Scalar(0));
    }
  }
}

template <typename Scalar>
void RnnLayer<Scalar>::backward_chunk(const RecurrentRecord<Scalar>& record, ConstRef dy,
                                      const RecurrentState<Scalar>* dfinal,
                                      RecurrentGradients<Scalar>& grads, Samples samples,
                                      StepProduct<Scalar>& product) {
  const Index steps = record.steps;
  const Index batch = record.batch;
  const Index first = samples.first;
  const Index count = samples.count;
  const bool tanh = nonlinearity_ == ActivationKind::kTanh;
  for (Index t = grads.chunk_last - 1; t >= grads.chunk_first; --t) {
    const Index col = t * batch + first;
    Ref dh = grads.dh.middleCols(col, count);
    dh = dy.middleCols(col, count);
    if (t + 1 < steps) {
      product.add(grads.weight_hh_t, grads.dz_ih_at(t + 1).middleCols(first, count), dh);
    } else if (dfinal != nullptr) {
      dh += dfinal->h.middleCols(first, count);
    }
    const ConstRef h = record.hidden.middleCols(col + batch, count);  // h_t
    Ref dz = grads.dz_ih_at(t).middleCols(first, count);
    if (tanh) {
      dz.array() = dh.array() * (Scalar(1) - h.array().square());
    } else {
      // relu'(z) = [z > 0] = [h > 0]; 0 at z = 0, as PyTorch.
      dz.array() = (h.array() > Scalar(0)).select(dh.array(), Scalar(0));
    }
  }
  if (grads.chunk_first > 0) return;
  Ref dinitial_h = grads.dinitial.h.middleCols(first, count);
  dinitial_h.setZero();
  product.add(grads.weight_hh_t, grads.dz_ih_at(0).middleCols(first, count), dinitial_h);
}

template <typename Scalar>
typename RnnLayer<Scalar>::Mat RnnLayer<Scalar>::step_jacobian(
    const RecurrentRecord<Scalar>& record, Index t, Index sample) const {
  this->check_step(record, t, sample);
  const Vector<Scalar> h = record.h(t).col(sample);
  Vector<Scalar> dphi(h.size());
  if (nonlinearity_ == ActivationKind::kTanh) {
    dphi.array() = Scalar(1) - h.array().square();
  } else {
    dphi = (h.array() > Scalar(0)).template cast<Scalar>().matrix();
  }
  Mat jacobian = dphi.asDiagonal() * this->weight_hh_;
  return jacobian;
}

template <typename Scalar>
double RnnLayer<Scalar>::mean_activation_derivative(const RecurrentRecord<Scalar>& record,
                                                    Index t) const {
  this->check_step(record, t, 0);
  const ConstRef h = record.h(t);
  if (nonlinearity_ == ActivationKind::kTanh) {
    return static_cast<double>((Scalar(1) - h.array().square()).mean());
  }
  return static_cast<double>((h.array() > Scalar(0)).template cast<Scalar>().mean());
}

template <typename Scalar>
std::optional<double> RnnLayer<Scalar>::mean_keep_gate(const RecurrentRecord<Scalar>& /*record*/,
                                                       Index /*t*/) const {
  return std::nullopt;
}

template <typename Scalar>
std::unique_ptr<RecurrentLayer<Scalar>> RnnLayer<Scalar>::clone() const {
  return std::make_unique<RnnLayer>(*this);
}

template class RnnLayer<float>;
template class RnnLayer<double>;

}  // namespace gradscope
