#include "gradscope/rnn/lstm_layer.hpp"

#include "gradscope/core/error.hpp"
#include "sample_column.hpp"

namespace gradscope {

template <typename Scalar>
LstmLayer<Scalar>::LstmLayer(Index input_size, Index hidden_size)
    : RecurrentLayer<Scalar>(CellKind::kLstm, input_size, hidden_size) {}

template <typename Scalar>
void LstmLayer<Scalar>::prepare_window(ConstRef x, const RecurrentState<Scalar>& initial,
                                       RecurrentRecord<Scalar>& record) const {
  const Index hidden = this->hidden_size();
  const Index steps = record.steps;
  const Index batch = record.batch;
  record.hidden.resize(hidden, (steps + 1) * batch);
  record.cell.resize(hidden, (steps + 1) * batch);
  record.gates.resize(4 * hidden, steps * batch);
  record.aux.resize(hidden, steps * batch);
  record.hidden.leftCols(batch) = initial.h;
  record.cell.leftCols(batch) = initial.c;
  // PyTorch adds both biases to every gate; adding them once to W_ih x saves a pass per step.
  record.folded_bias.noalias() = this->bias_ih_ + this->bias_hh_;
  this->project_window(x, record.folded_bias, record.gates);
}

template <typename Scalar>
void LstmLayer<Scalar>::forward_samples(ConstRef x, RecurrentRecord<Scalar>& record,
                                        Samples samples, StepProduct<Scalar>& product) const {
  const Index hidden = this->hidden_size();
  const Index batch = record.batch;
  for (Index t = 0; t < record.steps; ++t) {
    const Index col = t * batch + samples.first;
    Ref a = record.gates.middleCols(col, samples.count);  // pre-activations, then the gates
    this->project_step(x.middleCols(col, samples.count), record.folded_bias, a);
    product.add(this->weight_hh_, record.hidden.middleCols(col, samples.count), a);
    // Sample by sample (sample_column.hpp), the gates in place of their pre-activations.
    for (Index j = 0; j < samples.count; ++j) {
      Scalar* z = &a(0, j);
      SampleColumn<Scalar> i(z, hidden), f(z + hidden, hidden), g(z + 2 * hidden, hidden),
          o(z + 3 * hidden, hidden);
      SampleColumn<Scalar>(z, 2 * hidden) = SampleColumn<Scalar>(z, 2 * hidden).logistic();  // i, f
      g = g.tanh();
      o = o.logistic();
      SampleColumn<Scalar> c(&record.cell(0, col + batch + j), hidden);
      c = f * ConstSampleColumn<Scalar>(&record.cell(0, col + j), hidden) + i * g;
      SampleColumn<Scalar> tanh_c(&record.aux(0, col + j), hidden);
      tanh_c = c.tanh();
      SampleColumn<Scalar>(&record.hidden(0, col + batch + j), hidden) = o * tanh_c;
    }
  }
}

template <typename Scalar>
void LstmLayer<Scalar>::backward_chunk(const RecurrentRecord<Scalar>& record, ConstRef dy,
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
    const bool has_next = t + 1 < steps;
    Ref dh = grads.dh.middleCols(col, count);
    dh = dy.middleCols(col, count);
    if (has_next) {
      product.add(grads.weight_hh_t, grads.dz_ih_at(t + 1).middleCols(first, count), dh);
    } else if (dfinal != nullptr) {
      dh += dfinal->h.middleCols(first, count);
    }
    Ref dz = grads.dz_ih_at(t);
    // Sample by sample (sample_column.hpp).
    for (Index j = 0; j < count; ++j) {
      const Scalar* a = &record.gates(0, col + j);
      const ConstSampleColumn<Scalar> i(a, hidden), f(a + hidden, hidden),
          g(a + 2 * hidden, hidden), o(a + 3 * hidden, hidden);
      const ConstSampleColumn<Scalar> tanh_c(&record.aux(0, col + j), hidden);
      const ConstSampleColumn<Scalar> c_prev(&record.cell(0, col + j), hidden);  // c_{t-1}
      const ConstSampleColumn<Scalar> dh_j(&dh(0, j), hidden);
      // dc_t: through h_t = o tanh(c_t), plus what reaches c_t from c_{t+1} = f_{t+1} c_t + ...
      SampleColumn<Scalar> dc(&grads.dc(0, col + j), hidden);
      dc = dh_j * o * (Scalar(1) - tanh_c.square());
      if (has_next) {
        dc += ConstSampleColumn<Scalar>(&grads.dc(0, col + batch + j), hidden) *
              ConstSampleColumn<Scalar>(&record.gates(hidden, col + batch + j), hidden);
      } else if (dfinal != nullptr) {
        dc += dfinal->c.col(first + j).array();
      }
      Scalar* da = &dz(0, first + j);
      SampleColumn<Scalar>(da, hidden) = dc * g * i * (Scalar(1) - i);
      SampleColumn<Scalar>(da + hidden, hidden) = dc * c_prev * f * (Scalar(1) - f);
      SampleColumn<Scalar>(da + 2 * hidden, hidden) = dc * i * (Scalar(1) - g.square());
      SampleColumn<Scalar>(da + 3 * hidden, hidden) = dh_j * tanh_c * o * (Scalar(1) - o);
    }
  }
  if (grads.chunk_first > 0) return;
  Ref dinitial_h = grads.dinitial.h.middleCols(first, count);
  dinitial_h.setZero();
  product.add(grads.weight_hh_t, grads.dz_ih_at(0).middleCols(first, count), dinitial_h);
  grads.dinitial.c.middleCols(first, count).array() =
      grads.dc.middleCols(first, count).array() *
      record.gates.block(hidden, first, hidden, count).array();
}

template <typename Scalar>
typename LstmLayer<Scalar>::Mat LstmLayer<Scalar>::step_jacobian(
    const RecurrentRecord<Scalar>& record, Index t, Index sample) const {
  this->check_step(record, t, sample);
  const Index hidden = this->hidden_size();
  const Index col = t * record.batch + sample;
  const Vector<Scalar> i = record.gates.col(col).head(hidden);
  const Vector<Scalar> f = record.gates.col(col).segment(hidden, hidden);
  const Vector<Scalar> g = record.gates.col(col).segment(2 * hidden, hidden);
  const Vector<Scalar> o = record.gates.col(col).tail(hidden);
  const Vector<Scalar> tanh_c = record.aux.col(col);
  const Vector<Scalar> c_prev = record.c(t - 1).col(sample);
  const Mat& w = this->weight_hh_;
  // Gate derivatives with respect to h_{t-1} (the gates do not see c_{t-1}: no peepholes).
  const Mat di = (i.array() * (Scalar(1) - i.array())).matrix().asDiagonal() * w.topRows(hidden);
  const Mat df =
      (f.array() * (Scalar(1) - f.array())).matrix().asDiagonal() * w.middleRows(hidden, hidden);
  const Mat dg =
      (Scalar(1) - g.array().square()).matrix().asDiagonal() * w.middleRows(2 * hidden, hidden);
  const Mat dout =
      (o.array() * (Scalar(1) - o.array())).matrix().asDiagonal() * w.bottomRows(hidden);
  const Vector<Scalar> o_dtanh = o.array() * (Scalar(1) - tanh_c.array().square());
  Mat jacobian(2 * hidden, 2 * hidden);
  // dc_t/dh_{t-1} = diag(c_{t-1}) df + diag(g) di + diag(i) dg;  dc_t/dc_{t-1} = diag(f)
  jacobian.bottomLeftCorner(hidden, hidden) =
      c_prev.asDiagonal() * df + g.asDiagonal() * di + i.asDiagonal() * dg;
  jacobian.bottomRightCorner(hidden, hidden) = f.asDiagonal();
  // h_t = o tanh(c_t): dh_t/ds = diag(tanh c_t) do/ds + diag(o tanh'(c_t)) dc_t/ds
  jacobian.topLeftCorner(hidden, hidden) =
      tanh_c.asDiagonal() * dout + o_dtanh.asDiagonal() * jacobian.bottomLeftCorner(hidden, hidden);
  jacobian.topRightCorner(hidden, hidden) = (o_dtanh.array() * f.array()).matrix().asDiagonal();
  return jacobian;
}

template <typename Scalar>
double LstmLayer<Scalar>::mean_activation_derivative(const RecurrentRecord<Scalar>& record,
                                                     Index t) const {
  this->check_step(record, t, 0);
  const ConstRef tanh_c = record.aux.middleCols(t * record.batch, record.batch);
  return static_cast<double>((Scalar(1) - tanh_c.array().square()).mean());
}

template <typename Scalar>
std::optional<double> LstmLayer<Scalar>::mean_keep_gate(const RecurrentRecord<Scalar>& record,
                                                        Index t) const {
  return this->mean_gate(record, t, 1);  // f
}

template <typename Scalar>
std::unique_ptr<RecurrentLayer<Scalar>> LstmLayer<Scalar>::clone() const {
  return std::make_unique<LstmLayer>(*this);
}

template class LstmLayer<float>;
template class LstmLayer<double>;

}  // namespace gradscope
