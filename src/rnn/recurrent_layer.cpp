#include "gradscope/rnn/recurrent_layer.hpp"

#include <algorithm>
#include <atomic>

#include "gradscope/core/columns.hpp"
#include "gradscope/core/error.hpp"
#include "gradscope/core/threads.hpp"
#include "gradscope/rnn/gru_layer.hpp"
#include "gradscope/rnn/lstm_layer.hpp"
#include "gradscope/rnn/rnn_layer.hpp"

namespace gradscope {

namespace {

// Up to this many inputs, the input projection is a column-by-column loop instead of a product.
constexpr Index kFewInputs = 8;

// project_step works on blocks of this many rows of z, summed in registers and written once: one
// pass over z, where adding one input at a time over a whole column took 1 + inputs passes.
constexpr int kProjectionBlock = 32;

// z(first .. first + count, j) = bias + sum_k x(k, j) W(:, k) on those rows. Size is
// kProjectionBlock for the whole blocks (kept in registers) or Dynamic for the rows left over.
template <int Size, typename Scalar, typename Column>
void project_rows(const Matrix<Scalar>& weight, const Matrix<Scalar>& bias,
                  const ConstMatrixRef<Scalar>& x, Index j, Index first, Index count,
                  Column z_column) {
  using Sum = Eigen::Array<Scalar, Size, 1, Eigen::ColMajor, kProjectionBlock, 1>;
  Sum sum = bias.col(0).template segment<Size>(first, count).array();
  for (Index k = 0; k < x.rows(); ++k) {
    sum += x(k, j) * weight.col(k).template segment<Size>(first, count).array();
  }
  z_column.template segment<Size>(first, count) = sum.matrix();
}

}  // namespace

CellKind parse_cell_kind(const std::string& name) {
  if (name == "rnn" || name == "rnn_tanh" || name == "tanh") return CellKind::kRnnTanh;
  if (name == "rnn_relu" || name == "relu") return CellKind::kRnnRelu;
  if (name == "lstm") return CellKind::kLstm;
  if (name == "gru") return CellKind::kGru;
  throw_bad_input("unknown recurrent cell '{}' (expected rnn, rnn_tanh, rnn_relu, lstm, gru)",
                  name);
}

std::string_view cell_name(CellKind kind) {
  switch (kind) {
    case CellKind::kRnnTanh:
      return "rnn_tanh";
    case CellKind::kRnnRelu:
      return "rnn_relu";
    case CellKind::kLstm:
      return "lstm";
    case CellKind::kGru:
      return "gru";
  }
  return "unknown";
}

Index gate_count(CellKind kind) {
  switch (kind) {
    case CellKind::kLstm:
      return 4;
    case CellKind::kGru:
      return 3;
    default:
      return 1;
  }
}

template <typename Scalar>
RecurrentLayer<Scalar>::RecurrentLayer(CellKind kind, Index input_size, Index hidden_size)
    : kind_(kind) {
  if (input_size < 1 || hidden_size < 1) {
    throw_bad_input("{}: input and hidden sizes must be >= 1, got {} and {}", cell_name(kind),
                    input_size, hidden_size);
  }
  const Index rows = gate_count(kind) * hidden_size;
  weight_ih_ = Mat::Zero(rows, input_size);
  weight_hh_ = Mat::Zero(rows, hidden_size);
  bias_ih_ = Mat::Zero(rows, 1);
  bias_hh_ = Mat::Zero(rows, 1);
  dweight_ih_ = Mat::Zero(rows, input_size);
  dweight_hh_ = Mat::Zero(rows, hidden_size);
  dbias_ih_ = Mat::Zero(rows, 1);
  dbias_hh_ = Mat::Zero(rows, 1);
}

template <typename Scalar>
RecurrentState<Scalar> RecurrentLayer<Scalar>::zero_state(Index batch) const {
  RecurrentState<Scalar> state;
  state.h = Mat::Zero(hidden_size(), batch);
  if (has_cell_state()) state.c = Mat::Zero(hidden_size(), batch);
  return state;
}

template <typename Scalar>
int RecurrentLayer<Scalar>::sample_workers(Index batch) {
  return static_cast<int>(std::clamp<Index>(batch / kMinSamplesPerWorker, 1, thread_count()));
}

template <typename Scalar>
typename RecurrentLayer<Scalar>::Samples RecurrentLayer<Scalar>::worker_samples(Index batch,
                                                                                int workers,
                                                                                int k) {
  const Index first = batch * k / workers;
  return {first, batch * (k + 1) / workers - first};
}

template <typename Scalar>
void RecurrentLayer<Scalar>::forward(ConstRef x, const RecurrentState<Scalar>& initial,
                                     RecurrentRecord<Scalar>& record,
                                     RecurrentState<Scalar>& final_state) const {
  const Index hidden = hidden_size();
  const Index batch = initial.h.cols();
  GRADSCOPE_CHECK(initial.h.rows() == hidden && batch >= 1,
                  "{}: initial h must be ({}, batch >= 1), got ({}, {})", kind(), hidden,
                  initial.h.rows(), batch);
  GRADSCOPE_CHECK(!has_cell_state() || (initial.c.rows() == hidden && initial.c.cols() == batch),
                  "{}: initial c must be ({}, {}), got ({}, {})", kind(), hidden, batch,
                  initial.c.rows(), initial.c.cols());
  GRADSCOPE_CHECK(x.rows() == input_size() && x.cols() >= batch && x.cols() % batch == 0,
                  "{}: x must be ({}, T * {}) with T >= 1, got ({}, {})", kind(), input_size(),
                  batch, x.rows(), x.cols());
  record.steps = x.cols() / batch;
  record.batch = batch;
  prepare_window(x, initial, record);
  const int workers = sample_workers(batch);
  if (std::ssize(record.products) < workers) record.products.resize(workers);
  run_on_threads(workers, [&](int k) {
    forward_samples(x, record, worker_samples(batch, workers, k), record.products[k]);
  });
  final_state.h = record.h(record.steps - 1);
  if (has_cell_state()) {
    final_state.c = record.c(record.steps - 1);
  } else {
    final_state.c.resize(0, 0);
  }
}

template <typename Scalar>
void RecurrentLayer<Scalar>::backward(ConstRef x, const RecurrentRecord<Scalar>& record,
                                      ConstRef dy, const RecurrentState<Scalar>* dfinal, Ref dx,
                                      RecurrentGradients<Scalar>& grads,
                                      const ChunkDone& chunk_done) {
  const Index hidden = hidden_size();
  const Index batch = record.batch;
  const Index n = record.steps * batch;
  GRADSCOPE_CHECK(
      record.steps >= 1 && record.hidden.rows() == hidden && record.hidden.cols() == n + batch,
      "{}: backward needs the record of a forward of this layer", kind());
  GRADSCOPE_CHECK(x.rows() == input_size() && x.cols() == n && dx.rows() == x.rows() &&
                      dx.cols() == n && dy.rows() == hidden && dy.cols() == n,
                  "{}: backward over {} columns got x ({}, {}), dy ({}, {}), dx ({}, {})", kind(),
                  n, x.rows(), x.cols(), dy.rows(), dy.cols(), dx.rows(), dx.cols());
  if (dfinal != nullptr) {
    GRADSCOPE_CHECK(
        dfinal->h.rows() == hidden && dfinal->h.cols() == batch &&
            (!has_cell_state() || (dfinal->c.rows() == hidden && dfinal->c.cols() == batch)),
        "{}: dfinal must have the state's shape ({}, {})", kind(), hidden, batch);
  }
  const Index rows = gates() * hidden;
  grads.steps = record.steps;
  grads.batch = batch;
  const Index chunk_steps = std::clamp<Index>(grads.chunk_columns / batch, 1, record.steps);
  reserve(grads.dh, hidden, n);
  reserve(grads.dz_ih, rows, chunk_steps * batch);
  if (has_cell_state()) reserve(grads.dc, hidden, n);
  if (kind_ == CellKind::kGru) reserve(grads.dz_hh, rows, chunk_steps * batch);
  grads.dinitial.h.resize(hidden, batch);
  grads.dinitial.c.resize(has_cell_state() ? hidden : 0, has_cell_state() ? batch : 0);
  grads.weight_hh_t = weight_hh_.transpose();
  const int workers = sample_workers(batch);
  if (std::ssize(grads.products) < workers) grads.products.resize(workers);

  // With several workers the chunk's products are split into blocks of columns, three per worker
  // so that the one that also runs chunk_done can take fewer (rnn, 2 threads: two per worker left
  // chunk_done costing 4-5% of the step, three 3-4%), each summing into its own partial sums.
  const int blocks = workers > 1 ? 3 * workers : 0;
  grads.column_blocks.resize(static_cast<std::size_t>(blocks));
  for (RecurrentParamSums<Scalar>& sums : grads.column_blocks) {
    sums.weight_ih.setZero(rows, input_size());
    sums.weight_hh.setZero(rows, hidden);
    sums.bias_ih.setZero(rows, 1);
    sums.bias_hh.setZero(kind_ == CellKind::kGru ? rows : 0, 1);
  }

  // Last chunk first: the walk goes backwards in time.
  for (Index last = record.steps; last > 0; last -= chunk_steps) {
    grads.chunk_last = last;
    grads.chunk_first = std::max<Index>(0, last - chunk_steps);
    run_on_threads(workers, [&](int k) {
      backward_chunk(record, dy, dfinal, grads, worker_samples(batch, workers, k),
                     grads.products[k]);
    });
    const Index columns = (grads.chunk_last - grads.chunk_first) * batch;
    if (blocks == 0) {
      if (chunk_done) chunk_done(grads.chunk_first, grads.chunk_last);
      // The chunk's bias gradients are summed on their own, then added.
      grads.dbias.setZero(rows, 2);
      accumulate_columns(x, record, grads, 0, columns, dx,
                         {dweight_ih_, dweight_hh_, grads.dbias.col(0), grads.dbias.col(1)});
      dbias_ih_ += grads.dbias.col(0);
      dbias_hh_ += grads.dbias.col(kind_ == CellKind::kGru ? 1 : 0);
      continue;
    }
    // Worker 0 is the calling thread: chunk_done runs there, beside the others' products.
    std::atomic<int> next_block = 0;
    run_on_threads(workers, [&](int k) {
      if (k == 0 && chunk_done) chunk_done(grads.chunk_first, grads.chunk_last);
      for (int b = next_block++; b < blocks; b = next_block++) {
        RecurrentParamSums<Scalar>& sums = grads.column_blocks[static_cast<std::size_t>(b)];
        accumulate_columns(x, record, grads, columns * b / blocks, columns * (b + 1) / blocks, dx,
                           {sums.weight_ih, sums.weight_hh, sums.bias_ih, sums.bias_hh});
      }
    });
  }
  for (const RecurrentParamSums<Scalar>& sums : grads.column_blocks) {
    dweight_ih_ += sums.weight_ih;
    dweight_hh_ += sums.weight_hh;
    dbias_ih_ += sums.bias_ih;
    dbias_hh_ += kind_ == CellKind::kGru ? sums.bias_hh : sums.bias_ih;
  }
}

template <typename Scalar>
void RecurrentLayer<Scalar>::accumulate_columns(ConstRef x, const RecurrentRecord<Scalar>& record,
                                                const RecurrentGradients<Scalar>& grads,
                                                Index begin, Index end, Ref dx,
                                                GradientTargets targets) const {
  const Index first_column = grads.chunk_first * grads.batch + begin;
  const Index columns = end - begin;
  const ConstRef dz_ih = grads.dz_ih.middleCols(begin, columns);
  targets.weight_ih.noalias() += dz_ih * x.middleCols(first_column, columns).transpose();
  add_column_sum<Scalar>(dz_ih, targets.bias_ih);
  const ConstRef dz_hh =
      kind_ == CellKind::kGru ? ConstRef(grads.dz_hh.middleCols(begin, columns)) : dz_ih;
  targets.weight_hh.noalias() +=
      dz_hh * record.hidden.middleCols(first_column, columns).transpose();
  if (kind_ == CellKind::kGru) add_column_sum<Scalar>(dz_hh, targets.bias_hh);
  dx.middleCols(first_column, columns).noalias() = weight_ih_.transpose() * dz_ih;
}

template <typename Scalar>
std::vector<Param<Scalar>> RecurrentLayer<Scalar>::params() {
  return {{"weight_ih", &weight_ih_, &dweight_ih_},
          {"weight_hh", &weight_hh_, &dweight_hh_},
          {"bias_ih", &bias_ih_, &dbias_ih_, true},
          {"bias_hh", &bias_hh_, &dbias_hh_, true}};
}

template <typename Scalar>
void RecurrentLayer<Scalar>::zero_grad() {
  dweight_ih_.setZero();
  dweight_hh_.setZero();
  dbias_ih_.setZero();
  dbias_hh_.setZero();
}

template <typename Scalar>
void RecurrentLayer<Scalar>::project_window(ConstRef x, const Mat& bias, Ref z) const {
  if (x.rows() <= kFewInputs) return;  // project_step does it
  // The bias first, the product accumulated onto it: one pass over z instead of three.
  fill_columns<Scalar>(z, bias);
  z.noalias() += weight_ih_ * x;
}

template <typename Scalar>
void RecurrentLayer<Scalar>::project_step(ConstRef x_t, const Mat& bias, Ref z_t) const {
  if (x_t.rows() > kFewInputs) return;  // project_window did it
  const Index rows = z_t.rows();
  for (Index j = 0; j < z_t.cols(); ++j) {
    Index first = 0;
    for (; first + kProjectionBlock <= rows; first += kProjectionBlock) {
      project_rows<kProjectionBlock>(weight_ih_, bias, x_t, j, first, kProjectionBlock, z_t.col(j));
    }
    if (first < rows) {
      project_rows<Eigen::Dynamic>(weight_ih_, bias, x_t, j, first, rows - first, z_t.col(j));
    }
  }
}

template <typename Scalar>
void RecurrentLayer<Scalar>::reserve(Mat& m, Index rows, Index cols) {
  if (m.rows() != rows || m.cols() < cols) m.resize(rows, cols);
}

template <typename Scalar>
void RecurrentLayer<Scalar>::check_step(const RecurrentRecord<Scalar>& record, Index t,
                                        Index sample) const {
  GRADSCOPE_CHECK(record.steps >= 1 && record.hidden.rows() == hidden_size(),
                  "{}: the record is not from a forward of this layer", kind());
  GRADSCOPE_CHECK(t >= 0 && t < record.steps && sample >= 0 && sample < record.batch,
                  "{}: step {} sample {} outside the record's {} steps x {} samples", kind(), t,
                  sample, record.steps, record.batch);
}

template <typename Scalar>
double RecurrentLayer<Scalar>::mean_gate(const RecurrentRecord<Scalar>& record, Index t,
                                         Index gate) const {
  check_step(record, t, 0);
  const Index hidden = hidden_size();
  return static_cast<double>(
      record.gates.block(gate * hidden, t * record.batch, hidden, record.batch).mean());
}

template <typename Scalar>
std::unique_ptr<RecurrentLayer<Scalar>> make_recurrent_layer(CellKind kind, Index input_size,
                                                             Index hidden_size) {
  switch (kind) {
    case CellKind::kRnnTanh:
      return std::make_unique<RnnLayer<Scalar>>(input_size, hidden_size, ActivationKind::kTanh);
    case CellKind::kRnnRelu:
      return std::make_unique<RnnLayer<Scalar>>(input_size, hidden_size, ActivationKind::kRelu);
    case CellKind::kLstm:
      return std::make_unique<LstmLayer<Scalar>>(input_size, hidden_size);
    case CellKind::kGru:
      return std::make_unique<GruLayer<Scalar>>(input_size, hidden_size);
  }
  GRADSCOPE_CHECK(false, "make_recurrent_layer: unknown cell kind {}", static_cast<int>(kind));
  return nullptr;
}

template class RecurrentLayer<float>;
template class RecurrentLayer<double>;
template std::unique_ptr<RecurrentLayer<float>> make_recurrent_layer<float>(CellKind, Index, Index);
template std::unique_ptr<RecurrentLayer<double>> make_recurrent_layer<double>(CellKind, Index,
                                                                              Index);

}  // namespace gradscope
