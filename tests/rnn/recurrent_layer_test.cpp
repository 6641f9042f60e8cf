// One recurrent layer over one window: the forward against PyTorch's equations (a naive
// reference), the backward against finite differences, the VJP contract, step Jacobians and the
// per-step observables, in every cell.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <utility>

#include "gradscope/core/error.hpp"
#include "gradscope/core/threads.hpp"
#include "gradscope/rnn/lstm_layer.hpp"
#include "gradscope/rnn/recurrent_init.hpp"
#include "gradscope/rnn/recurrent_stack.hpp"
#include "gradscope/rnn/rnn_layer.hpp"
#include "rnn/recurrent_test_util.hpp"

namespace gradscope {
namespace {

using testing::compare_with_finite_differences;
using testing::Disagreement;
using testing::dot;
using testing::max_relative_error;

constexpr Index kInputs = 3;
constexpr Index kHidden = 4;
constexpr Index kBatch = 2;
constexpr Index kSteps = 5;
constexpr double kTolerance = 1e-6;
constexpr double kInf = std::numeric_limits<double>::infinity();

struct LayerCase {
  std::unique_ptr<RecurrentLayer<double>> layer;
  Matrix<double> x;  // (I, T B)
  RecurrentState<double> initial;
};

LayerCase make_case(CellKind kind, std::uint64_t seed, Index inputs = kInputs,
                    Index hidden = kHidden) {
  Rng rng(seed);
  LayerCase c;
  c.layer = make_recurrent_layer<double>(kind, inputs, hidden);
  testing::randomize(*c.layer, rng);
  c.x = rng.normal_matrix<double>(inputs, kSteps * kBatch);
  c.initial = testing::random_state(*c.layer, kBatch, rng);
  return c;
}

// Finite differences of a relu RNN are valid only away from the kink at 0.
double kink_margin(const LayerCase& c) {
  if (c.layer->cell() != CellKind::kRnnRelu) return kInf;
  return testing::reference_forward(*c.layer, c.x, kBatch, c.initial)
      .preactivations.cwiseAbs()
      .minCoeff();
}

std::vector<Matrix<double>> parameter_gradients(RecurrentLayer<double>& layer) {
  std::vector<Matrix<double>> grads;
  for (const Param<double>& p : layer.params()) grads.push_back(*p.grad);
  return grads;
}

class EveryCellLayer : public ::testing::TestWithParam<CellKind> {};

// 3 inputs take the per-step input projection, 12 the matrix product. The per-step one sums
// blocks of 32 gate rows and then the rest: hidden 40 gives 40, 120 and 160 rows (blocks and a
// rest, blocks only), hidden 4 a rest only.
TEST_P(EveryCellLayer, ForwardFollowsPytorchEquations) {
  for (const auto& [inputs, hidden] : {std::pair{kInputs, kHidden}, std::pair{Index{12}, kHidden},
                                       std::pair{kInputs, Index{40}}}) {
    SCOPED_TRACE(::testing::Message() << inputs << " inputs, hidden " << hidden);
    const LayerCase c = make_case(GetParam(), 11, inputs, hidden);
    RecurrentRecord<double> record;
    RecurrentState<double> final_state;
    c.layer->forward(c.x, c.initial, record, final_state);
    const testing::ReferenceRun reference =
        testing::reference_forward(*c.layer, c.x, kBatch, c.initial);
    EXPECT_LT(max_relative_error(record.output(), reference.y), 1e-12);
    EXPECT_LT(max_relative_error(final_state.h, reference.final.h), 1e-12);
    if (c.layer->has_cell_state()) {
      EXPECT_LT(max_relative_error(final_state.c, reference.final.c), 1e-12);
    } else {
      EXPECT_EQ(final_state.c.size(), 0);
    }
  }
}

// L = <y, V> + <h_final, U> + <c_final, U_c>: dy = V and dfinal = (U, U_c) exercise every path.
TEST_P(EveryCellLayer, GradientsMatchFiniteDifferences) {
  LayerCase c = make_case(GetParam(), 21);
  ASSERT_GT(kink_margin(c), 1e-3);
  RecurrentLayer<double>& layer = *c.layer;
  Rng rng(5);
  const Matrix<double> v = rng.normal_matrix<double>(kHidden, kSteps * kBatch);
  const RecurrentState<double> dfinal = testing::random_state(layer, kBatch, rng);

  RecurrentRecord<double> record;
  RecurrentState<double> final_state;
  RecurrentGradients<double> grads;
  Matrix<double> dx(kInputs, kSteps * kBatch);
  layer.zero_grad();
  layer.forward(c.x, c.initial, record, final_state);
  layer.backward(c.x, record, v, &dfinal, dx, grads);
  const std::vector<Matrix<double>> dparams = parameter_gradients(layer);
  const RecurrentState<double> dinitial = grads.dinitial;

  auto objective = [&] {
    RecurrentRecord<double> r;
    RecurrentState<double> f;
    layer.forward(c.x, c.initial, r, f);
    double loss = dot(r.output(), v) + dot(f.h, dfinal.h);
    if (layer.has_cell_state()) loss += dot(f.c, dfinal.c);
    return loss;
  };
  Disagreement disagreement;
  std::vector<Param<double>> params = layer.params();
  for (std::size_t p = 0; p < params.size(); ++p) {
    compare_with_finite_differences(objective, *params[p].value, dparams[p], params[p].name,
                                    disagreement);
  }
  compare_with_finite_differences(objective, c.x, dx, "x", disagreement);
  compare_with_finite_differences(objective, c.initial.h, dinitial.h, "h0", disagreement);
  if (layer.has_cell_state()) {
    compare_with_finite_differences(objective, c.initial.c, dinitial.c, "c0", disagreement);
  }
  EXPECT_LT(disagreement.error, kTolerance) << disagreement.where;
  // The check would see a wrong gradient: every parameter got a nonzero one.
  for (const Matrix<double>& g : dparams) EXPECT_GT(g.cwiseAbs().maxCoeff(), 1e-3);
}

TEST_P(EveryCellLayer, BackwardAssignsInputGradientsAndAccumulatesParameters) {
  const LayerCase c = make_case(GetParam(), 31);
  RecurrentLayer<double>& layer = *c.layer;
  Rng rng(6);
  const Matrix<double> v1 = rng.normal_matrix<double>(kHidden, kSteps * kBatch);
  const Matrix<double> v2 = rng.normal_matrix<double>(kHidden, kSteps * kBatch);
  RecurrentRecord<double> record;
  RecurrentState<double> final_state;
  layer.forward(c.x, c.initial, record, final_state);

  RecurrentGradients<double> grads;
  grads.dinitial.h = Matrix<double>::Constant(kHidden, kBatch, kInf);
  if (layer.has_cell_state()) grads.dinitial.c = Matrix<double>::Constant(kHidden, kBatch, kInf);
  Matrix<double> dx = Matrix<double>::Constant(kInputs, kSteps * kBatch, kInf);
  layer.zero_grad();
  layer.backward(c.x, record, v1, nullptr, dx, grads);
  EXPECT_TRUE(dx.allFinite()) << "dx must be assigned";
  EXPECT_TRUE(grads.dinitial.h.allFinite()) << "dinitial.h must be assigned";
  EXPECT_TRUE(grads.dinitial.c.allFinite()) << "dinitial.c must be assigned";
  const std::vector<Matrix<double>> first = parameter_gradients(layer);
  const Matrix<double> dx1 = dx;
  const RecurrentState<double> dinitial1 = grads.dinitial;

  layer.backward(c.x, record, v1, nullptr, dx, grads);
  const std::vector<Matrix<double>> second = parameter_gradients(layer);
  for (std::size_t p = 0; p < first.size(); ++p) {
    EXPECT_LT(max_relative_error(second[p], 2.0 * first[p]), 1e-14) << "parameter " << p;
  }
  EXPECT_EQ(dx, dx1) << "a second backward must not accumulate into dx";
  EXPECT_EQ(grads.dinitial.h, dinitial1.h);

  // Linear in dy.
  Matrix<double> dx2(kInputs, kSteps * kBatch);
  Matrix<double> dx12(kInputs, kSteps * kBatch);
  layer.backward(c.x, record, v2, nullptr, dx2, grads);
  const Matrix<double> dh0_2 = grads.dinitial.h;
  const Matrix<double> combined = 2.0 * v1 - 3.0 * v2;
  layer.backward(c.x, record, combined, nullptr, dx12, grads);
  EXPECT_LT(max_relative_error(dx12, 2.0 * dx1 - 3.0 * dx2), 1e-12);
  EXPECT_LT(max_relative_error(grads.dinitial.h, 2.0 * dinitial1.h - 3.0 * dh0_2), 1e-12);
}

// Backward of window [2, 5) passes d(its entering state) as dfinal to window [0, 2): together
// they must give the one-window backward over [0, 5).
TEST_P(EveryCellLayer, WindowsChainedThroughStateGradientsEqualOneWindow) {
  const LayerCase c = make_case(GetParam(), 41);
  RecurrentLayer<double>& layer = *c.layer;
  Rng rng(7);
  const Matrix<double> v = rng.normal_matrix<double>(kHidden, kSteps * kBatch);
  const Index split = 2 * kBatch;

  RecurrentRecord<double> record;
  RecurrentState<double> final_state;
  RecurrentGradients<double> grads;
  Matrix<double> dx(kInputs, kSteps * kBatch);
  layer.zero_grad();
  layer.forward(c.x, c.initial, record, final_state);
  layer.backward(c.x, record, v, nullptr, dx, grads);
  const std::vector<Matrix<double>> full = parameter_gradients(layer);
  const RecurrentState<double> dinitial_full = grads.dinitial;

  const Matrix<double> x_a = c.x.leftCols(split);
  const Matrix<double> x_b = c.x.rightCols(kSteps * kBatch - split);
  RecurrentRecord<double> record_a;
  RecurrentRecord<double> record_b;
  RecurrentState<double> middle;
  RecurrentState<double> end;
  layer.forward(x_a, c.initial, record_a, middle);
  layer.forward(x_b, middle, record_b, end);
  EXPECT_LT(max_relative_error(end.h, final_state.h), 1e-14);

  layer.zero_grad();
  RecurrentGradients<double> grads_a;
  RecurrentGradients<double> grads_b;
  Matrix<double> dx_split(kInputs, kSteps * kBatch);
  layer.backward(x_b, record_b, v.rightCols(kSteps * kBatch - split), nullptr,
                 dx_split.rightCols(kSteps * kBatch - split), grads_b);
  layer.backward(x_a, record_a, v.leftCols(split), &grads_b.dinitial, dx_split.leftCols(split),
                 grads_a);
  const std::vector<Matrix<double>> chained = parameter_gradients(layer);
  for (std::size_t p = 0; p < full.size(); ++p) {
    EXPECT_LT(max_relative_error(chained[p], full[p]), 1e-13) << "parameter " << p;
  }
  EXPECT_LT(max_relative_error(dx_split, dx), 1e-13);
  EXPECT_LT(max_relative_error(grads_a.dinitial.h, dinitial_full.h), 1e-13);
  if (layer.has_cell_state()) {
    EXPECT_LT(max_relative_error(grads_a.dinitial.c, dinitial_full.c), 1e-13);
  }
}

// Backward walks the window in chunks of steps, each with its own parameter and dx products;
// chunks of 1, 2 and 3 steps (5 = 3 + 2: a short chunk at the start) must give what one chunk
// over the whole window gives.
TEST_P(EveryCellLayer, ChunkedBackwardEqualsOneChunk) {
  const LayerCase c = make_case(GetParam(), 43);
  RecurrentLayer<double>& layer = *c.layer;
  Rng rng(8);
  const Matrix<double> v = rng.normal_matrix<double>(kHidden, kSteps * kBatch);
  const RecurrentState<double> dfinal = testing::random_state(layer, kBatch, rng);
  RecurrentRecord<double> record;
  RecurrentState<double> final_state;
  layer.forward(c.x, c.initial, record, final_state);

  RecurrentGradients<double> whole;
  ASSERT_GE(whole.chunk_columns, kSteps * kBatch) << "the reference must be one chunk";
  Matrix<double> dx_whole(kInputs, kSteps * kBatch);
  layer.zero_grad();
  layer.backward(c.x, record, v, &dfinal, dx_whole, whole);
  const std::vector<Matrix<double>> expected = parameter_gradients(layer);

  for (const Index chunk_steps : {1, 2, 3}) {
    SCOPED_TRACE(::testing::Message() << "chunks of " << chunk_steps << " steps");
    RecurrentGradients<double> chunked;
    chunked.chunk_columns = chunk_steps * kBatch;
    Matrix<double> dx(kInputs, kSteps * kBatch);
    layer.zero_grad();
    layer.backward(c.x, record, v, &dfinal, dx, chunked);
    const std::vector<Matrix<double>> got = parameter_gradients(layer);
    for (std::size_t p = 0; p < got.size(); ++p) {
      EXPECT_LT(max_relative_error(got[p], expected[p]), 1e-13) << "parameter " << p;
    }
    EXPECT_LT(max_relative_error(dx, dx_whole), 1e-13);
    EXPECT_LT(max_relative_error(chunked.dh.leftCols(kSteps * kBatch),
                                 whole.dh.leftCols(kSteps * kBatch)),
              1e-13);
    EXPECT_LT(max_relative_error(chunked.dinitial.h, whole.dinitial.h), 1e-13);
    if (layer.has_cell_state()) {
      EXPECT_LT(max_relative_error(chunked.dc.leftCols(kSteps * kBatch),
                                   whole.dc.leftCols(kSteps * kBatch)),
                1e-13);
      EXPECT_LT(max_relative_error(chunked.dinitial.c, whole.dinitial.c), 1e-13);
    }
    EXPECT_LE(chunked.dz_ih.cols(), chunk_steps * kBatch) << "dz must not grow with T";
  }
}

// With several threads, forward and backward split the batch between workers (at least 16 samples
// each): 50 samples give 2 workers of 25 on 2 threads and 16 + 17 + 17 on 3. Every result must
// equal the one-worker run's, including dfinal's and dinitial's columns of each worker and the
// chunk boundaries (chunks of 2 steps). The chunks' parameter-gradient products then go in blocks
// of columns (6 on 2 threads, 9 on 3, of 11 or 12 columns), while chunk_done runs on the calling
// thread: the same chunks must reach it, and the same gradients the layer.
TEST_P(EveryCellLayer, BatchSplitBetweenThreadsEqualsOneThread) {
  constexpr Index kSplitBatch = 50;
  constexpr Index kSplitHidden = 20;
  Rng rng(45);
  const std::unique_ptr<RecurrentLayer<double>> layer =
      make_recurrent_layer<double>(GetParam(), kInputs, kSplitHidden);
  testing::randomize(*layer, rng);
  const Index columns = kSteps * kSplitBatch;
  const Matrix<double> x = rng.normal_matrix<double>(kInputs, columns);
  const RecurrentState<double> initial = testing::random_state(*layer, kSplitBatch, rng);
  const RecurrentState<double> dfinal = testing::random_state(*layer, kSplitBatch, rng);
  const Matrix<double> v = rng.normal_matrix<double>(kSplitHidden, columns);

  struct Run {
    Matrix<double> output, dx, dh, dc;
    RecurrentState<double> final_state, dinitial;
    std::vector<Matrix<double>> parameters;
    std::vector<std::pair<Index, Index>> chunks;
    bool chunk_done_off_the_calling_thread = false;
  };
  const auto run = [&](int threads) {
    const int saved = thread_count();
    set_thread_count(threads);
    Run r;
    RecurrentRecord<double> record;
    layer->forward(x, initial, record, r.final_state);
    RecurrentGradients<double> grads;
    grads.chunk_columns = 2 * kSplitBatch;
    r.dx.resize(kInputs, columns);
    const std::thread::id caller = std::this_thread::get_id();
    const auto chunk_done = [&](Index first, Index last) {
      r.chunks.emplace_back(first, last);
      if (std::this_thread::get_id() != caller) r.chunk_done_off_the_calling_thread = true;
    };
    layer->zero_grad();
    // Twice: parameter gradients accumulate, and the second backward reuses grads' buffers.
    layer->backward(x, record, v, &dfinal, r.dx, grads, chunk_done);
    layer->backward(x, record, v, &dfinal, r.dx, grads, chunk_done);
    set_thread_count(saved);
    r.output = record.output();
    r.dh = grads.dh.leftCols(columns);
    if (layer->has_cell_state()) r.dc = grads.dc.leftCols(columns);
    r.dinitial = grads.dinitial;
    r.parameters = parameter_gradients(*layer);
    return r;
  };
  const Run one = run(1);
  for (const int threads : {2, 3}) {
    SCOPED_TRACE(::testing::Message() << threads << " threads");
    const Run split = run(threads);
    EXPECT_EQ(split.chunks, one.chunks);
    EXPECT_FALSE(split.chunk_done_off_the_calling_thread);
    EXPECT_LT(max_relative_error(split.output, one.output), 1e-13);
    EXPECT_LT(max_relative_error(split.final_state.h, one.final_state.h), 1e-13);
    EXPECT_LT(max_relative_error(split.dx, one.dx), 1e-13);
    EXPECT_LT(max_relative_error(split.dh, one.dh), 1e-13);
    EXPECT_LT(max_relative_error(split.dinitial.h, one.dinitial.h), 1e-13);
    if (layer->has_cell_state()) {
      EXPECT_LT(max_relative_error(split.final_state.c, one.final_state.c), 1e-13);
      EXPECT_LT(max_relative_error(split.dc, one.dc), 1e-13);
      EXPECT_LT(max_relative_error(split.dinitial.c, one.dinitial.c), 1e-13);
    }
    // The parameter gradients are the same sums over columns in another order (block by block),
    // entry by entry relative: 1.2e-13 seen where terms cancel.
    for (std::size_t p = 0; p < one.parameters.size(); ++p) {
      EXPECT_LT(max_relative_error(split.parameters[p], one.parameters[p]), 1e-11)
          << "parameter " << p;
    }
  }
}

// chunk_done comes once per chunk, last chunk first, covering every step once, and the dh and dc
// it sees are already the final ones.
TEST_P(EveryCellLayer, ChunkDoneSeesEachChunksFinalGradientsLastChunkFirst) {
  const LayerCase c = make_case(GetParam(), 44);
  RecurrentLayer<double>& layer = *c.layer;
  Rng rng(9);
  const Matrix<double> v = rng.normal_matrix<double>(kHidden, kSteps * kBatch);
  RecurrentRecord<double> record;
  RecurrentState<double> final_state;
  layer.forward(c.x, c.initial, record, final_state);
  for (const Index chunk_steps : {Index{1}, Index{2}, Index{3}, kSteps}) {
    SCOPED_TRACE(::testing::Message() << "chunks of " << chunk_steps << " steps");
    RecurrentGradients<double> grads;
    grads.chunk_columns = chunk_steps * kBatch;
    Matrix<double> dx(kInputs, kSteps * kBatch);
    std::vector<std::pair<Index, Index>> chunks;
    Matrix<double> seen_dh = Matrix<double>::Zero(kHidden, kSteps * kBatch);
    Matrix<double> seen_dc = Matrix<double>::Zero(kHidden, kSteps * kBatch);
    layer.zero_grad();
    layer.backward(c.x, record, v, nullptr, dx, grads, [&](Index first, Index last) {
      chunks.emplace_back(first, last);
      for (Index t = first; t < last; ++t) {
        seen_dh.middleCols(t * kBatch, kBatch) = grads.dh_at(t);
        if (layer.has_cell_state()) seen_dc.middleCols(t * kBatch, kBatch) = grads.dc_at(t);
      }
    });
    ASSERT_FALSE(chunks.empty());
    EXPECT_EQ(chunks.front().second, kSteps);
    EXPECT_EQ(chunks.back().first, 0);
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      EXPECT_LT(chunks[i].first, chunks[i].second);
      EXPECT_LE(chunks[i].second - chunks[i].first, chunk_steps);
      if (i > 0) {
        EXPECT_EQ(chunks[i].second, chunks[i - 1].first) << "chunk " << i;
      }
    }
    EXPECT_EQ(seen_dh, grads.dh.leftCols(kSteps * kBatch));
    if (layer.has_cell_state()) {
      EXPECT_EQ(seen_dc, grads.dc.leftCols(kSteps * kBatch));
    }
  }
}

// J_t against finite differences of one step run on its own from (h_{t-1}, c_{t-1}).
TEST_P(EveryCellLayer, StepJacobianMatchesFiniteDifferencesOfOneStep) {
  const LayerCase c = make_case(GetParam(), 51);
  ASSERT_GT(kink_margin(c), 1e-3);
  const RecurrentLayer<double>& layer = *c.layer;
  const bool lstm = layer.has_cell_state();
  RecurrentRecord<double> record;
  RecurrentState<double> final_state;
  layer.forward(c.x, c.initial, record, final_state);

  Disagreement disagreement;
  for (Index t = 0; t < kSteps; ++t) {
    for (Index j = 0; j < kBatch; ++j) {
      const Matrix<double> x_t = c.x.col(t * kBatch + j);
      Matrix<double> state(lstm ? 2 * kHidden : kHidden, 1);
      state.topRows(kHidden) = record.h(t - 1).col(j);
      if (lstm) state.bottomRows(kHidden) = record.c(t - 1).col(j);
      const Matrix<double> fd = testing::finite_difference_jacobian(
          [&](const Matrix<double>& s) {
            RecurrentState<double> initial;
            initial.h = s.topRows(kHidden);
            if (lstm) initial.c = s.bottomRows(kHidden);
            RecurrentRecord<double> r;
            RecurrentState<double> next;
            layer.forward(x_t, initial, r, next);
            Matrix<double> out(s.rows(), 1);
            out.topRows(kHidden) = next.h;
            if (lstm) out.bottomRows(kHidden) = next.c;
            return out;
          },
          state);
      const Matrix<double> closed = layer.step_jacobian(record, t, j);
      ASSERT_EQ(closed.rows(), fd.rows());
      ASSERT_EQ(closed.cols(), fd.cols());
      for (Index k = 0; k < fd.size(); ++k) {
        disagreement.compare(closed(k), fd(k), fmt::format("t {} sample {} entry {}", t, j, k));
      }
    }
  }
  EXPECT_LT(disagreement.error, kTolerance) << disagreement.where;
}

TEST_P(EveryCellLayer, ObservablesFollowTheirDefinitions) {
  const LayerCase c = make_case(GetParam(), 61);
  const RecurrentLayer<double>& layer = *c.layer;
  RecurrentRecord<double> record;
  RecurrentState<double> final_state;
  layer.forward(c.x, c.initial, record, final_state);
  const testing::ReferenceRun reference = testing::reference_forward(layer, c.x, kBatch, c.initial);
  for (Index t = 0; t < kSteps; ++t) {
    const Matrix<double> gates = reference.gates.middleCols(t * kBatch, kBatch);
    const Matrix<double> y = reference.y.middleCols(t * kBatch, kBatch);
    double derivative = 0.0;
    std::optional<double> keep;
    switch (layer.cell()) {
      case CellKind::kRnnTanh:
        derivative = (1.0 - y.array().square()).mean();
        break;
      case CellKind::kRnnRelu:
        derivative = (y.array() > 0.0).cast<double>().mean();
        break;
      case CellKind::kLstm:
        derivative =
            (1.0 - reference.cell.middleCols(t * kBatch, kBatch).array().tanh().square()).mean();
        keep = gates.middleRows(kHidden, kHidden).mean();
        break;
      case CellKind::kGru:
        derivative = (1.0 - gates.bottomRows(kHidden).array().square()).mean();
        keep = gates.middleRows(kHidden, kHidden).mean();
        break;
    }
    EXPECT_NEAR(layer.mean_activation_derivative(record, t), derivative, 1e-12) << "t " << t;
    ASSERT_EQ(layer.mean_keep_gate(record, t).has_value(), keep.has_value());
    if (keep) {
      EXPECT_NEAR(*layer.mean_keep_gate(record, t), *keep, 1e-12) << "t " << t;
    }
  }
  EXPECT_THROW(layer.mean_activation_derivative(record, kSteps), Error);
}

TEST_P(EveryCellLayer, FloatAndDoubleAgree) {
  const LayerCase c = make_case(GetParam(), 71);
  RecurrentLayer<double>& layer = *c.layer;
  std::unique_ptr<RecurrentLayer<float>> layer_f =
      make_recurrent_layer<float>(layer.cell(), kInputs, kHidden);
  std::vector<Param<float>> params_f = layer_f->params();
  std::vector<Param<double>> params = layer.params();
  for (std::size_t p = 0; p < params.size(); ++p)
    *params_f[p].value = params[p].value->cast<float>();
  Rng rng(8);
  const Matrix<double> v = rng.normal_matrix<double>(kHidden, kSteps * kBatch);
  RecurrentState<float> initial_f{c.initial.h.cast<float>(), c.initial.c.cast<float>()};

  RecurrentRecord<double> record;
  RecurrentRecord<float> record_f;
  RecurrentState<double> final_state;
  RecurrentState<float> final_f;
  RecurrentGradients<double> grads;
  RecurrentGradients<float> grads_f;
  Matrix<double> dx(kInputs, kSteps * kBatch);
  Matrix<float> dx_f(kInputs, kSteps * kBatch);
  layer.zero_grad();
  layer.forward(c.x, c.initial, record, final_state);
  layer.backward(c.x, record, v, nullptr, dx, grads);
  const Matrix<float> x_f = c.x.cast<float>();
  const Matrix<float> v_f = v.cast<float>();
  layer_f->forward(x_f, initial_f, record_f, final_f);
  layer_f->backward(x_f, record_f, v_f, nullptr, dx_f, grads_f);

  constexpr double kFloatTolerance = 1e-4;
  EXPECT_LT(max_relative_error(Matrix<double>(record_f.output().cast<double>()), record.output()),
            kFloatTolerance);
  EXPECT_LT(max_relative_error(dx_f.cast<double>(), dx), kFloatTolerance);
  EXPECT_LT(max_relative_error(grads_f.dinitial.h.cast<double>(), grads.dinitial.h),
            kFloatTolerance);
  params_f = layer_f->params();
  params = layer.params();
  for (std::size_t p = 0; p < params.size(); ++p) {
    EXPECT_LT(max_relative_error(params_f[p].grad->cast<double>(), *params[p].grad),
              kFloatTolerance)
        << params[p].name;
  }
}

INSTANTIATE_TEST_SUITE_P(AllCells, EveryCellLayer, ::testing::ValuesIn(testing::kAllCells),
                         [](const ::testing::TestParamInfo<CellKind>& param_info) {
                           std::string name(cell_name(param_info.param));
                           std::erase(name, '_');
                           return name;
                         });

// For the RNN the closed form is literally diag(phi'(z_t)) W_hh.
TEST(RnnLayer, StepJacobianIsDiagonalOfDerivativeTimesRecurrentWeights) {
  for (CellKind kind : {CellKind::kRnnTanh, CellKind::kRnnRelu}) {
    const LayerCase c = make_case(kind, 81);
    RecurrentRecord<double> record;
    RecurrentState<double> final_state;
    c.layer->forward(c.x, c.initial, record, final_state);
    for (Index t = 0; t < kSteps; ++t) {
      for (Index j = 0; j < kBatch; ++j) {
        const Vector<double> h = record.h(t).col(j);
        Vector<double> dphi(kHidden);
        for (Index u = 0; u < kHidden; ++u) {
          dphi(u) = kind == CellKind::kRnnTanh ? 1.0 - h(u) * h(u) : (h(u) > 0.0 ? 1.0 : 0.0);
        }
        Matrix<double> expected(kHidden, kHidden);
        for (Index r = 0; r < kHidden; ++r) expected.row(r) = dphi(r) * c.layer->weight_hh().row(r);
        // Not bit-exact: the compiler may contract the product into an FMA in one place only.
        EXPECT_LT(max_relative_error(c.layer->step_jacobian(record, t, j), expected), 1e-14)
            << cell_name(kind) << " t " << t;
      }
    }
  }
}

// Forget gate open (f ~ 1), input gate shut (i ~ 0): the constant error carousel.
TEST(LstmLayer, OpenForgetGateAndShutInputGateCarryTheCellGradientUnchanged) {
  LayerCase c = make_case(CellKind::kLstm, 91);
  auto& lstm = dynamic_cast<LstmLayer<double>&>(*c.layer);
  set_forget_bias(lstm, 20.0);
  lstm.bias_ih().topRows(kHidden).setConstant(-20.0);
  lstm.bias_hh().topRows(kHidden).setZero();
  RecurrentRecord<double> record;
  RecurrentState<double> final_state;
  lstm.forward(c.x, c.initial, record, final_state);
  const Matrix<double> identity = Matrix<double>::Identity(kHidden, kHidden);
  for (Index t = 0; t < kSteps; ++t) {
    for (Index j = 0; j < kBatch; ++j) {
      const Matrix<double> jacobian = lstm.step_jacobian(record, t, j);
      EXPECT_LT((jacobian.bottomRightCorner(kHidden, kHidden) - identity).cwiseAbs().maxCoeff(),
                1e-6)
          << "dc_t/dc_{t-1} at t " << t;
      EXPECT_LT(jacobian.bottomLeftCorner(kHidden, kHidden).cwiseAbs().maxCoeff(), 1e-6)
          << "dc_t/dh_{t-1} at t " << t;
    }
  }
  // A gradient on the final cell state only reaches every c_t, and c_{-1}, unchanged.
  Rng rng(9);
  RecurrentState<double> dfinal;
  dfinal.h = Matrix<double>::Zero(kHidden, kBatch);
  dfinal.c = rng.normal_matrix<double>(kHidden, kBatch);
  RecurrentGradients<double> grads;
  Matrix<double> dx(kInputs, kSteps * kBatch);
  lstm.backward(c.x, record, Matrix<double>::Zero(kHidden, kSteps * kBatch), &dfinal, dx, grads);
  for (Index t = 0; t < kSteps; ++t) {
    EXPECT_LT((grads.dc_at(t) - dfinal.c).cwiseAbs().maxCoeff(), 1e-6) << "t " << t;
  }
  EXPECT_LT((grads.dinitial.c - dfinal.c).cwiseAbs().maxCoeff(), 1e-6);
  EXPECT_GT(dfinal.c.cwiseAbs().minCoeff(), 1e-3);
}

TEST(RecurrentLayer, ParametersHavePytorchNamesAndShapes) {
  for (CellKind kind : testing::kAllCells) {
    auto layer = make_recurrent_layer<double>(kind, kInputs, kHidden);
    const Index rows = gate_count(kind) * kHidden;
    const std::vector<Param<double>> params = layer->params();
    ASSERT_EQ(params.size(), 4u);
    EXPECT_EQ(params[0].name, "weight_ih");
    EXPECT_EQ(params[1].name, "weight_hh");
    EXPECT_EQ(params[2].name, "bias_ih");
    EXPECT_EQ(params[3].name, "bias_hh");
    EXPECT_EQ(params[0].value->rows(), rows);
    EXPECT_EQ(params[0].value->cols(), kInputs);
    EXPECT_EQ(params[1].value->rows(), rows);
    EXPECT_EQ(params[1].value->cols(), kHidden);
    EXPECT_EQ(params[2].value->rows(), rows);
    EXPECT_EQ(params[3].value->cols(), 1);
  }
  EXPECT_EQ(gate_count(CellKind::kRnnTanh), 1);
  EXPECT_EQ(gate_count(CellKind::kLstm), 4);
  EXPECT_EQ(gate_count(CellKind::kGru), 3);
}

TEST(RecurrentLayer, RejectsBadShapesAndNames) {
  const LayerCase c = make_case(CellKind::kLstm, 101);
  RecurrentRecord<double> record;
  RecurrentState<double> final_state;
  const Matrix<double> wrong_rows = Matrix<double>::Zero(kInputs + 1, kSteps * kBatch);
  EXPECT_THROW(c.layer->forward(wrong_rows, c.initial, record, final_state), Error);
  const Matrix<double> ragged = Matrix<double>::Zero(kInputs, kSteps * kBatch + 1);
  EXPECT_THROW(c.layer->forward(ragged, c.initial, record, final_state), Error);
  RecurrentState<double> no_cell{c.initial.h, Matrix<double>()};
  EXPECT_THROW(c.layer->forward(c.x, no_cell, record, final_state), Error);
  EXPECT_THROW(parse_cell_kind("transformer"), Error);
  EXPECT_EQ(parse_cell_kind("rnn"), CellKind::kRnnTanh);
  EXPECT_EQ(parse_cell_kind("rnn_relu"), CellKind::kRnnRelu);
  EXPECT_THROW(RnnLayer<double>(kInputs, kHidden, ActivationKind::kSigmoid), Error);
}

}  // namespace
}  // namespace gradscope
