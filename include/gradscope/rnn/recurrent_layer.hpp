// Recurrent layers: one interface for the tanh/ReLU RNN, the LSTM and the GRU, with exactly the
// equations, gate order and parameter layout of torch.nn.RNN / LSTM / GRU.
//
// Shapes (I inputs, H hidden units, B samples, T steps, G gates: RNN 1, LSTM 4, GRU 3):
//   x          (I, T B)   time-major column blocks: columns [t B, (t+1) B) hold step t
//   y          (H, T B)   h_0 .. h_{T-1}, PyTorch's `output`
//   state      h (H, B); c (H, B) for the LSTM only
//   weight_ih  (G H, I)   weight_hh (G H, H)   bias_ih (G H, 1)   bias_hh (G H, 1)
// Steps are numbered t = 0 .. T-1 like the column blocks: step t reads x_t and h_{t-1} and writes
// h_t; h_{-1} is the initial state (PyTorch's h_0 argument). J_t = dh_t / dh_{t-1}.
//
// forward   y and the final state (h_{T-1}, c_{T-1}) from x and the initial state; what backward
//           needs goes into a caller-owned RecurrentRecord, so one layer serves any number of
//           windows and forward is const.
// backward  the vector-Jacobian product through the whole window, given
//             dy      (H, T B)  dL/dh_t from above (the layer's outputs), every step
//             dfinal            dL/d(final state) from beyond the window (null: zero)
//           it produces
//             dx      (I, T B)  dL/dx                         ASSIGNED
//             grads.dinitial    dL/d(initial state)           ASSIGNED
//             grads.dh_at(t)    TOTAL dL/dh_t (from y_t and from step t+1), for observers
//             grads.dc_at(t)    TOTAL dL/dc_t (LSTM; h_t counted as o tanh(c_t))
//             d(weight_ih, weight_hh, bias_ih, bias_hh)         ACCUMULATED
// Each cell's equations and VJP are in its header and in docs/derivations/{rnn,lstm,gru}.md.
//
// Layout for speed (all cells): the input projection Z = W_ih X + b is one matrix product for all
// T steps (with few inputs, a fused loop inside the time loop: project_step); the time loop
// does one product per step (W_hh h_{t-1} forward, W_hh^T dz_t backward, with preallocated
// packing space, see step_product.hpp) and fused elementwise gate arithmetic. Backward walks the
// window in chunks of steps (about grads.chunk_columns columns each): the pre-activation
// gradients of a chunk are kept in (G H, chunk) matrices so that dW_ih += dZ_ih X^T,
// dW_hh += dZ_hh H_prev^T and dx = W_ih^T dZ_ih are one product per chunk, wide enough to run at
// matrix-product speed, while the dz buffers stay the same size however long the window is (at
// T = 1,000 they would otherwise be the largest thing backward keeps) and are read back from
// cache, not memory (1,024 columns ran the T = 200 LSTM and GRU steps 10-15% faster than 8,192;
// 256 to 1,024 were alike). Once records and gradient buffers have seen the shape, nothing is
// allocated inside the time loop (the chunk products may take Eigen's packing buffers from the
// heap: a few allocations per chunk). With several threads the batch is split between them
// (Samples below): each thread runs every step for its own samples, its products on one thread,
// where splitting each step's small product over threads gained little (the T = 200 LSTM step
// on 2 threads at batch 64: 46.8 ms against 63.4 in bench/compare). Each chunk's products go to
// the workers too, as blocks of its columns taken as they come, while the calling thread also
// runs chunk_done: OpenBLAS ran the rnn's 128 x 1,024 x 128 weight gradient on 2 threads hardly
// faster than on one (5.2 ms of the 12.7 ms step went there, 5.9 on one thread).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gradscope/core/types.hpp"
#include "gradscope/nn/layer.hpp"
#include "gradscope/rnn/step_product.hpp"

namespace gradscope {

// PyTorch's `mode` names: RNN_TANH, RNN_RELU, LSTM, GRU.
enum class CellKind { kRnnTanh, kRnnRelu, kLstm, kGru };

// "rnn" | "rnn_tanh" | "tanh", "rnn_relu" | "relu", "lstm", "gru"; bad-input Error otherwise.
CellKind parse_cell_kind(const std::string& name);
// "rnn_tanh", "rnn_relu", "lstm", "gru".
std::string_view cell_name(CellKind kind);
// G: 1, 1, 4, 3.
Index gate_count(CellKind kind);

// The recurrent state of a batch: h (H, B), and c (H, B) for the LSTM (empty otherwise).
// Also used for gradients with respect to a state.
template <typename Scalar>
struct RecurrentState {
  Matrix<Scalar> h;
  Matrix<Scalar> c;
};

// What forward leaves for backward over one window of T steps of B samples; owned by the caller.
// Column block k of `hidden` and `cell` is the state after step k - 1, so block 0 is the entering
// state and block t + 1 is h_t.
template <typename Scalar>
struct RecurrentRecord {
  Index steps = 0;
  Index batch = 0;
  Matrix<Scalar> hidden;        // (H, (T+1) B): h_{-1}, h_0, ..., h_{T-1}
  Matrix<Scalar> cell;          // LSTM (H, (T+1) B): c_{-1}, c_0, ..., c_{T-1}; else empty
  Matrix<Scalar> gates;         // activated gates (G H, T B): LSTM i,f,g,o; GRU r,z,n; RNN empty
  Matrix<Scalar> aux;           // (H, T B): LSTM tanh(c_t); GRU W_hn h_{t-1} + b_hn; RNN empty
  Matrix<Scalar> folded_bias;   // (G H, 1) the biases added to W_ih x (scratch)
  Matrix<Scalar> step_scratch;  // GRU (3H, B): W_hh h_{t-1} + b_hh (scratch)
  // Packing space of W_hh h_{t-1}, one per worker (RecurrentLayer::Samples).
  std::vector<StepProduct<Scalar>> products;

  // (H, T B): the layer's output y = h_0 .. h_{T-1}.
  ConstMatrixRef<Scalar> output() const { return hidden.rightCols(steps * batch); }
  // (H, B): h_t for t = -1 .. T-1.
  ConstMatrixRef<Scalar> h(Index t) const { return hidden.middleCols((t + 1) * batch, batch); }
  // (H, B): c_t for t = -1 .. T-1 (LSTM).
  ConstMatrixRef<Scalar> c(Index t) const { return cell.middleCols((t + 1) * batch, batch); }
};

// Sums of a recurrent layer's four parameter gradients over part of a window (RecurrentGradients).
template <typename Scalar>
struct RecurrentParamSums {
  Matrix<Scalar> weight_ih;
  Matrix<Scalar> weight_hh;
  Matrix<Scalar> bias_ih;
  Matrix<Scalar> bias_hh;  // GRU only; the other cells' bias_hh gradient is bias_ih's
};

// What backward over one window leaves behind, reused from window to window (owned by the
// caller). Storage only grows, so windows of different lengths do not reallocate; the first
// steps * batch columns are the current window's.
template <typename Scalar>
struct RecurrentGradients {
  Index steps = 0;
  Index batch = 0;
  Matrix<Scalar> dh;     // (H, >= T B): total dL/dh_t per step
  Matrix<Scalar> dc;     // LSTM (H, >= T B): total dL/dc_t per step
  Matrix<Scalar> dz_ih;  // (G H, >= chunk): dL/d(pre-activations fed by W_ih x_t + b_ih)
  Matrix<Scalar> dz_hh;  // GRU (G H, >= chunk): dL/d(W_hh h_{t-1} + b_hh); RNN, LSTM use dz_ih
  Matrix<Scalar> dbias;  // (G H, 2) scratch: a chunk's bias_ih and (GRU) bias_hh sums
  RecurrentState<Scalar> dinitial;  // dL/d(initial state): h (H, B), c (H, B) for the LSTM
  // (H, G H): W_hh^T, copied once per backward. OpenBLAS packs a transposed operand about 6%
  // slower, and backward's per-step product would otherwise pack it T times.
  Matrix<Scalar> weight_hh_t;
  // Packing space of W_hh^T dz_t, one per worker (RecurrentLayer::Samples).
  std::vector<StepProduct<Scalar>> products;
  // With several workers, each chunk's parameter-gradient products are split into this many
  // blocks of its columns, which the workers take as they come; block b of every chunk sums
  // into column_blocks[b], and the blocks are added to the layer's gradients in order at the
  // end of backward: the same sums whichever worker took which block.
  std::vector<RecurrentParamSums<Scalar>> column_blocks;

  // Backward's chunks hold about this many columns (whole steps, at least one): the dz buffers'
  // width, so their memory does not grow with T. Smaller values only make more, narrower
  // products (the tests set it small to cross chunk boundaries).
  Index chunk_columns = 1024;
  // The chunk being walked: steps [chunk_first, chunk_last), walked downwards.
  Index chunk_first = 0;
  Index chunk_last = 0;

  // (H, B): total dL/dh_t and dL/dc_t at local step t of the last backward.
  ConstMatrixRef<Scalar> dh_at(Index t) const { return dh.middleCols(t * batch, batch); }
  ConstMatrixRef<Scalar> dc_at(Index t) const { return dc.middleCols(t * batch, batch); }
  // (G H, B): dz of step t, for t in [chunk_first, chunk_last]. Step chunk_last belongs to the
  // chunk walked before; it stays in block 0 until step chunk_first, the last one walked,
  // writes there (each step reads dz_{t+1} before it writes dz_t).
  MatrixRef<Scalar> dz_ih_at(Index t) { return dz_ih.middleCols(dz_column(t), batch); }
  MatrixRef<Scalar> dz_hh_at(Index t) { return dz_hh.middleCols(dz_column(t), batch); }

 private:
  Index dz_column(Index t) const { return t == chunk_last ? 0 : (t - chunk_first) * batch; }
};

template <typename Scalar>
class RecurrentLayer {
 public:
  using Mat = Matrix<Scalar>;
  using ConstRef = ConstMatrixRef<Scalar>;
  using Ref = MatrixRef<Scalar>;

  virtual ~RecurrentLayer() = default;

  CellKind cell() const { return kind_; }
  std::string_view kind() const { return cell_name(kind_); }
  Index input_size() const { return weight_ih_.cols(); }
  Index hidden_size() const { return weight_hh_.cols(); }
  Index gates() const { return gate_count(kind_); }
  bool has_cell_state() const { return kind_ == CellKind::kLstm; }
  // Zeros of the state's shapes for `batch` samples.
  RecurrentState<Scalar> zero_state(Index batch) const;

  // x: (I, T B) with T B a multiple of B = initial.h.cols(). `initial` and `final_state` may be
  // the same object (the state is read before it is written).
  void forward(ConstRef x, const RecurrentState<Scalar>& initial, RecurrentRecord<Scalar>& record,
               RecurrentState<Scalar>& final_state) const;
  // Called as (first, last) once grads.dh_at(t) and grads.dc_at(t) are final for the steps
  // first <= t < last, on the calling thread, while its gradients are still in cache. Chunks
  // come last first. With one worker the chunk's weight gradients are added after the call;
  // with several, the other workers do the chunk's products meanwhile, into
  // grads.column_blocks, and the layer's weight gradients change only at the end of backward.
  // So it may read the record, dh and dc, not grads.column_blocks.
  using ChunkDone = std::function<void(Index first, Index last)>;

  // x and record from the forward of this window; dy (H, T B); dx (I, T B); dfinal may be null.
  void backward(ConstRef x, const RecurrentRecord<Scalar>& record, ConstRef dy,
                const RecurrentState<Scalar>* dfinal, Ref dx, RecurrentGradients<Scalar>& grads,
                const ChunkDone& chunk_done = {});

  // Closed-form Jacobian of one step at one sample, local step t of `record`:
  // RNN and GRU dh_t/dh_{t-1} (H x H); LSTM d(h_t, c_t)/d(h_{t-1}, c_{t-1}) (2H x 2H), blocks
  // [dh/dh dh/dc; dc/dh dc/dc].
  virtual Mat step_jacobian(const RecurrentRecord<Scalar>& record, Index t, Index sample) const = 0;
  // Mean over units and samples of the derivative of the nonlinearity that sets the step's
  // saturation: RNN phi'(z_t) (tanh: 1 - h_t^2, relu: [h_t > 0]); LSTM tanh'(c_t) =
  // 1 - tanh^2(c_t), the output squashing through which dh_t reaches c_t; GRU tanh'(a_n) = 1 -
  // n_t^2.
  virtual double mean_activation_derivative(const RecurrentRecord<Scalar>& record,
                                            Index t) const = 0;
  // Mean of the gate that keeps the old state: LSTM f_t (forget gate), GRU z_t (update gate,
  // h_t = (1 - z) n + z h_{t-1}); the RNN has none.
  virtual std::optional<double> mean_keep_gate(const RecurrentRecord<Scalar>& record,
                                               Index t) const = 0;

  // weight_ih, weight_hh, bias_ih, bias_hh (RecurrentStack adds PyTorch's "_l{k}" suffix).
  std::vector<Param<Scalar>> params();
  void zero_grad();
  virtual std::unique_ptr<RecurrentLayer> clone() const = 0;

  Mat& weight_ih() { return weight_ih_; }
  const Mat& weight_ih() const { return weight_ih_; }
  Mat& weight_hh() { return weight_hh_; }
  const Mat& weight_hh() const { return weight_hh_; }
  Mat& bias_ih() { return bias_ih_; }
  const Mat& bias_ih() const { return bias_ih_; }
  Mat& bias_hh() { return bias_hh_; }
  const Mat& bias_hh() const { return bias_hh_; }
  const Mat& dweight_ih() const { return dweight_ih_; }
  const Mat& dweight_hh() const { return dweight_hh_; }
  const Mat& dbias_ih() const { return dbias_ih_; }
  const Mat& dbias_hh() const { return dbias_hh_; }

 protected:
  // Parameters start at zero; see recurrent_init.hpp.
  RecurrentLayer(CellKind kind, Index input_size, Index hidden_size);

  // A range of the batch's samples. The recurrence never mixes samples, so forward and each of
  // backward's chunks split the batch between workers (run_on_threads): one per thread, each with
  // at least kMinSamplesPerWorker samples. Every worker walks all the steps for its own samples
  // with its own single-threaded products, so the threads meet once per window or chunk instead
  // of inside every step's small product.
  struct Samples {
    Index first = 0;
    Index count = 0;
  };
  static constexpr Index kMinSamplesPerWorker = 16;

  // Shapes are checked and record.steps/batch, grads.steps/batch set before these are called.
  // prepare_window sizes the record, stores the initial state and does what is shared by all
  // samples; forward_samples then runs the window's steps for `samples` (workers at once, on
  // disjoint columns).
  virtual void prepare_window(ConstRef x, const RecurrentState<Scalar>& initial,
                              RecurrentRecord<Scalar>& record) const = 0;
  virtual void forward_samples(ConstRef x, RecurrentRecord<Scalar>& record, Samples samples,
                               StepProduct<Scalar>& product) const = 0;
  // Walks steps grads.chunk_last - 1 down to grads.chunk_first for `samples`: fills their
  // columns of grads.dh, grads.dc and grads.dz_ih_at (and dz_hh_at) of those steps, and of
  // grads.dinitial when chunk_first is 0. The base class then does the chunk's products.
  virtual void backward_chunk(const RecurrentRecord<Scalar>& record, ConstRef dy,
                              const RecurrentState<Scalar>* dfinal,
                              RecurrentGradients<Scalar>& grads, Samples samples,
                              StepProduct<Scalar>& product) = 0;

  // Z = W_ih X + bias (G H, 1). Forward calls both: project_window on the whole window (G H,
  // T B) before the time loop, project_step on step t's columns (G H, B) just before W_hh h_{t-1}
  // is added, and exactly one of them does the work. With many inputs it is one matrix product
  // for all steps. With few (the article's tasks feed 1 or 2) a product that thin is all memory
  // traffic: column by column inside the time loop, the step's block is written once, while it
  // is in cache for the recurrent product and the gates.
  void project_window(ConstRef x, const Mat& bias, Ref z) const;
  void project_step(ConstRef x_t, const Mat& bias, Ref z_t) const;
  // Where accumulate_columns adds parameter gradients: the layer's own (bias sums in scratch), or
  // a block's partial sums. bias_hh is the GRU's only; the other cells' is bias_ih's.
  struct GradientTargets {
    Ref weight_ih;
    Ref weight_hh;
    Ref bias_ih;
    Ref bias_hh;
  };
  // The products of the chunk grads.chunk_first .. chunk_last over its columns [begin, end)
  // (counted from the chunk's first): parameter gradients added to `targets`, dx assigned.
  void accumulate_columns(ConstRef x, const RecurrentRecord<Scalar>& record,
                          const RecurrentGradients<Scalar>& grads, Index begin, Index end, Ref dx,
                          GradientTargets targets) const;
  // (rows, >= cols) storage, grown only.
  static void reserve(Mat& m, Index rows, Index cols);
  // Throws unless 0 <= t < record.steps and 0 <= sample < record.batch.
  void check_step(const RecurrentRecord<Scalar>& record, Index t, Index sample) const;
  // Mean over units and samples of activated gate `gate` (0-based block of record.gates) at
  // local step t.
  double mean_gate(const RecurrentRecord<Scalar>& record, Index t, Index gate) const;

  Mat weight_ih_;   // (G H, I)
  Mat weight_hh_;   // (G H, H)
  Mat bias_ih_;     // (G H, 1)
  Mat bias_hh_;     // (G H, 1)
  Mat dweight_ih_;  // (G H, I)
  Mat dweight_hh_;  // (G H, H)
  Mat dbias_ih_;    // (G H, 1)
  Mat dbias_hh_;    // (G H, 1)

 private:
  // How many workers split a batch, and worker k's samples.
  static int sample_workers(Index batch);
  static Samples worker_samples(Index batch, int workers, int k);

  CellKind kind_;
};

// A layer of `kind` with parameters at zero.
template <typename Scalar>
std::unique_ptr<RecurrentLayer<Scalar>> make_recurrent_layer(CellKind kind, Index input_size,
                                                             Index hidden_size);

}  // namespace gradscope
