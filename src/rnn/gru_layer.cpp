#include "gradscope/rnn/gru_layer.hpp"

#include "gradscope/core/error.hpp"
#include "sample_column.hpp"

namespace gradscope {

template <typename Scalar>
GruLayer<Scalar>::GruLayer(Index input_size, Index hidden_size)
    : RecurrentLayer<Scalar>(CellKind::kGru, input_size, hidden_size) {}

template <typename Scalar>
void GruLayer<Scalar>::prepare_window(ConstRef x, const RecurrentState<Scalar>& initial,
                                      RecurrentRecord<Scalar>& record) const {
  const Index hidden = this->hidden_size();
  const Index steps = record.steps;
  const Index batch = record.batch;
  record.hidden.resize(hidden, (steps + 1) * batch);
  record.gates.resize(3 * hidden, steps * batch);
  record.aux.resize(hidden, steps * batch);
  record.step_scratch.resize(3 * hidden, batch);
  record.hidden.leftCols(batch) = initial.h;
  // b_hr and b_hz can join W_ih x; b_hn cannot, because r multiplies W_hn h + b_hn.
  record.folded_bias = this->bias_ih_;
  record.folded_bias.topRows(2 * hidden) += this->bias_hh_.topRows(2 * hidden);
  this->project_window(x, record.folded_bias, record.gates);
}

template <typename Scalar>
void GruLayer<Scalar>::forward_samples(ConstRef x, RecurrentRecord<Scalar>& record, Samples samples,
                                       StepProduct<Scalar>& product) const {
  const Index hidden = this->hidden_size();
  const Index batch = record.batch;
  // (3H, samples): [a_r; a_z; W_hn h_{t-1} + b_hn]
  Ref s = record.step_scratch.middleCols(samples.first, samples.count);
  for (Index t = 0; t < record.steps; ++t) {
    const Index col = t * batch + samples.first;
    Ref a = record.gates.middleCols(col, samples.count);
    this->project_step(x.middleCols(col, samples.count), record.folded_bias, a);
    s.topRows(2 * hidden) = a.topRows(2 * hidden);
    s.bottomRows(hidden).colwise() = this->bias_hh_.bottomRows(hidden).col(0);
    product.add(this->weight_hh_, record.hidden.middleCols(col, samples.count), s);
    // Sample by sample (sample_column.hpp).
    for (Index j = 0; j < samples.count; ++j) {
      Scalar* g = &a(0, j);  // [r; z; n], written over the pre-activations
      const Scalar* sj = &s(0, j);
      SampleColumn<Scalar>(g, 2 * hidden) = ConstSampleColumn<Scalar>(sj, 2 * hidden).logistic();
      const ConstSampleColumn<Scalar> r(g, hidden), z(g + hidden, hidden);
      SampleColumn<Scalar> n(g + 2 * hidden, hidden);
      SampleColumn<Scalar> hn(&record.aux(0, col + j), hidden);
      hn = ConstSampleColumn<Scalar>(sj + 2 * hidden, hidden);
      n = (n + r * hn).tanh();
      // h_t = (1 - z) n + z h_{t-1}
      SampleColumn<Scalar>(&record.hidden(0, col + batch + j), hidden) =
          n + z * (ConstSampleColumn<Scalar>(&record.hidden(0, col + j), hidden) - n);
    }
  }
}

template <typename Scalar>
void GruLayer<Scalar>::backward_chunk(const RecurrentRecord<Scalar>& record, ConstRef dy,
                                      const RecurrentState<Scalar>* dfinal,
                                      RecurrentGradients<Scalar>& grads, Samples samples,
                                      StepProduct<Scalar>& product) {
  const Index hidden = this->hidden_size();
  const Index steps = record.steps;
  const Index batch = record.batch;
  const Index first = samples.first;
  const Index count = samples.count;
  for (Index t = grads.chunk_last - 1; t >= grads.chunk_first; --t) {
    const Index col = t * batch + first;
    Ref dh = grads.dh.middleCols(col, count);
    if (t + 1 < steps) {
      // Step t+1 reads h_t twice: in z h_t directly, and through W_hh h_t.
      dh.array() = dy.middleCols(col, count).array() +
                   grads.dh.middleCols(col + batch, count).array() *
                       record.gates.block(hidden, col + batch, hidden, count).array();
      product.add(grads.weight_hh_t, grads.dz_hh_at(t + 1).middleCols(first, count), dh);
    } else {
      dh = dy.middleCols(col, count);
      if (dfinal != nullptr) dh += dfinal->h.middleCols(first, count);
    }
    Ref dz_ih = grads.dz_ih_at(t);
    Ref dz_hh = grads.dz_hh_at(t);
    // Sample by sample (sample_column.hpp).
    for (Index j = 0; j < count; ++j) {
      const Scalar* a = &record.gates(0, col + j);
      const ConstSampleColumn<Scalar> r(a, hidden), z(a + hidden, hidden),
          n(a + 2 * hidden, hidden);
      const ConstSampleColumn<Scalar> hn(&record.aux(0, col + j), hidden);
      const ConstSampleColumn<Scalar> h_prev(&record.hidden(0, col + j), hidden);  // h_{t-1}
      const ConstSampleColumn<Scalar> dh_j(&dh(0, j), hidden);
      Scalar* da_ih = &dz_ih(0, first + j);
      Scalar* da_hh = &dz_hh(0, first + j);
      SampleColumn<Scalar> dr(da_ih, hidden), dz(da_ih + hidden, hidden),
          dn(da_ih + 2 * hidden, hidden);
      dn = dh_j * (Scalar(1) - z) * (Scalar(1) - n.square());
      dz = dh_j * (h_prev - n) * z * (Scalar(1) - z);
      dr = dn * hn * r * (Scalar(1) - r);
      SampleColumn<Scalar>(da_hh, 2 * hidden) = ConstSampleColumn<Scalar>(da_ih, 2 * hidden);
      SampleColumn<Scalar>(da_hh + 2 * hidden, hidden) = dn * r;
    }
  }
  if (grads.chunk_first > 0) return;
  Ref dinitial_h = grads.dinitial.h.middleCols(first, count);
  dinitial_h.array() = grads.dh.middleCols(first, count).array() *
                       record.gates.block(hidden, first, hidden, count).array();
  product.add(grads.weight_hh_t, grads.dz_hh_at(0).middleCols(first, count), dinitial_h);
}

template <typename Scalar>
typename GruLayer<Scalar>::Mat GruLayer<Scalar>::step_jacobian(
    const RecurrentRecord<Scalar>& record, Index t, Index sample) const {
  this->check_step(record, t, sample);
  const Index hidden = this->hidden_size();
  const Index col = t * record.batch + sample;
  const Vector<Scalar> r = record.gates.col(col).head(hidden);
  const Vector<Scalar> z = record.gates.col(col).segment(hidden, hidden);
  const Vector<Scalar> n = record.gates.col(col).tail(hidden);
  const Vector<Scalar> hn = record.aux.col(col);
  const Vector<Scalar> h_prev = record.h(t - 1).col(sample);
  const Mat& w = this->weight_hh_;
  const Mat dz =
      (z.array() * (Scalar(1) - z.array())).matrix().asDiagonal() * w.middleRows(hidden, hidden);
  const Mat dr = (r.array() * (Scalar(1) - r.array())).matrix().asDiagonal() * w.topRows(hidden);
  // a_n = W_in x + b_in + r * hn: both r and hn depend on h_{t-1}.
  const Mat dan = r.asDiagonal() * w.bottomRows(hidden) + hn.asDiagonal() * dr;
  const Mat dn = (Scalar(1) - n.array().square()).matrix().asDiagonal() * dan;
  Mat jacobian = (Vector<Scalar>::Ones(hidden) - z).asDiagonal() * dn;
  jacobian += (h_prev - n).asDiagonal() * dz;
  jacobian.diagonal() += z;
  return jacobian;
}

template <typename Scalar>
double GruLayer<Scalar>::mean_activation_derivative(const RecurrentRecord<Scalar>& record,
                                                    Index t) const {
  this->check_step(record, t, 0);
  const Index hidden = this->hidden_size();
  const ConstRef n = record.gates.block(2 * hidden, t * record.batch, hidden, record.batch);
  return static_cast<double>((Scalar(1) - n.array().square()).mean());
}

template <typename Scalar>
std::optional<double> GruLayer<Scalar>::mean_keep_gate(const RecurrentRecord<Scalar>& record,
                                                       Index t) const {
  return this->mean_gate(record, t, 1);  // z
}

template <typename Scalar>
std::unique_ptr<RecurrentLayer<Scalar>> GruLayer<Scalar>::clone() const {
  return std::make_unique<GruLayer>(*this);
}

template class GruLayer<float>;
template class GruLayer<double>;

}  // namespace gradscope
