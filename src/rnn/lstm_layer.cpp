#include "gradscope/rnn/lstm_layer.hpp"

#include "gradscope/core/error.hpp"

namespace gradscope {

template <typename Scalar>
LstmLayer<Scalar>::LstmLayer(Index input_size, Index hidden_size)
    : RecurrentLayer<Scalar>(CellKind::kLstm, input_size, hidden_size) {}

template <typename Scalar>
void LstmLayer<Scalar>::forward_window(ConstRef x, const RecurrentState<Scalar>& initial,
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
  for (Index t = 0; t < steps; ++t) {
    const Index col = t * batch;
    Ref a = record.gates.middleCols(col, batch);  // pre-activations, then the gates in place
    this->project_step(x.middleCols(col, batch), record.folded_bias, a);
    record.product.add(this->weight_hh_, record.hidden.middleCols(col, batch), a);
    a.topRows(2 * hidden).array() = a.topRows(2 * hidden).array().logistic();  // i, f
    a.middleRows(2 * hidden, hidden).array() = a.middleRows(2 * hidden, hidden).array().tanh();
    a.bottomRows(hidden).array() = a.bottomRows(hidden).array().logistic();  // o
    Ref c = record.cell.middleCols(col + batch, batch);
    c.array() = a.middleRows(hidden, hidden).array() * record.cell.middleCols(col, batch).array() +
                a.topRows(hidden).array() * a.middleRows(2 * hidden, hidden).array();
    Ref tanh_c = record.aux.middleCols(col, batch);
    tanh_c.array() = c.array().tanh();
    record.hidden.middleCols(col + batch, batch).array() =
        a.bottomRows(hidden).array() * tanh_c.array();
  }
}

template <typename Scalar>
void LstmLayer<Scalar>::backward_chunk(const RecurrentRecord<Scalar>& record, ConstRef dy,
                                       const RecurrentState<Scalar>* dfinal,
                                       RecurrentGradients<Scalar>& grads) {
  const Index hidden = this->hidden_size();
  const Index steps = record.steps;
  const Index batch = record.batch;
  for (Index t = grads.chunk_last - 1; t >= grads.chunk_first; --t) {
    const Index col = t * batch;
    Ref dh = grads.dh.middleCols(col, batch);
    dh = dy.middleCols(col, batch);
    if (t + 1 < steps) {
      grads.product.add(grads.weight_hh_t, grads.dz_ih_at(t + 1), dh);
    } else if (dfinal != nullptr) {
      dh += dfinal->h;
    }
    const ConstRef a = record.gates.middleCols(col, batch);
    const ConstRef i = a.topRows(hidden);
    const ConstRef f = a.middleRows(hidden, hidden);
    const ConstRef g = a.middleRows(2 * hidden, hidden);
    const ConstRef o = a.bottomRows(hidden);
    const ConstRef tanh_c = record.aux.middleCols(col, batch);
    const ConstRef c_prev = record.c(t - 1);
    // dc_t: through h_t = o tanh(c_t), plus what reaches c_t from c_{t+1} = f_{t+1} c_t + ...
    Ref dc = grads.dc.middleCols(col, batch);
    if (t + 1 < steps) {
      dc.array() = dh.array() * o.array() * (Scalar(1) - tanh_c.array().square()) +
                   grads.dc.middleCols(col + batch, batch).array() *
                       record.gates.block(hidden, col + batch, hidden, batch).array();
    } else {
      dc.array() = dh.array() * o.array() * (Scalar(1) - tanh_c.array().square());
      if (dfinal != nullptr) dc += dfinal->c;
    }
    Ref da = grads.dz_ih_at(t);
    da.topRows(hidden).array() = dc.array() * g.array() * i.array() * (Scalar(1) - i.array());
    da.middleRows(hidden, hidden).array() =
        dc.array() * c_prev.array() * f.array() * (Scalar(1) - f.array());
    da.middleRows(2 * hidden, hidden).array() =
        dc.array() * i.array() * (Scalar(1) - g.array().square());
    da.bottomRows(hidden).array() =
        dh.array() * tanh_c.array() * o.array() * (Scalar(1) - o.array());
  }
  if (grads.chunk_first > 0) return;
  grads.dinitial.h.setZero();
  grads.product.add(grads.weight_hh_t, grads.dz_ih_at(0), grads.dinitial.h);
  grads.dinitial.c.array() =
      grads.dc.leftCols(batch).array() * record.gates.block(hidden, 0, hidden, batch).array();
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
