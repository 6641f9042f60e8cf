// Stacks run over sequences: full BPTT and truncated BPTT against finite differences of the
// objectives they claim to differentiate (built here from layer forwards only), the per-step
// observer, and the article's known answers (W_hh = rho Q; the LSTM's open forget gate).
#include "gradscope/rnn/unroller.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "gradscope/core/error.hpp"
#include "gradscope/rnn/recurrent_init.hpp"
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
constexpr Index kLayers = 2;
constexpr double kTolerance = 1e-6;

struct StackCase {
  RecurrentStack<double> stack;
  Matrix<double> x;                             // (I, T B)
  std::vector<RecurrentState<double>> initial;  // per layer
  Matrix<double> v;                             // dL/dY (H, T B), zero at step 1 (no loss)
};

StackCase make_case(CellKind kind, std::uint64_t seed) {
  Rng rng(seed);
  StackCase c{RecurrentStack<double>(kind, kInputs, kHidden, kLayers), {}, {}, {}};
  testing::randomize(c.stack, rng);
  c.x = rng.normal_matrix<double>(kInputs, kSteps * kBatch);
  c.initial = testing::random_states(c.stack, kBatch, rng);
  c.v = rng.normal_matrix<double>(kHidden, kSteps * kBatch);
  c.v.middleCols(1 * kBatch, kBatch).setZero();
  return c;
}

struct Gradients {
  std::vector<Matrix<double>> params;
  Matrix<double> dx;
  std::vector<RecurrentState<double>> dinitial;
  Matrix<double> y;
};

Gradients unrolled_gradients(StackCase& c, Index window,
                             TimeStepObserver<double>* observer = nullptr) {
  c.stack.zero_grad();
  Unroller<double> unroller(c.stack, window);
  Gradients g;
  g.y = unroller.forward(c.x, kBatch, c.initial);
  g.dx = unroller.backward(c.v, observer);
  for (const Param<double>& p : c.stack.params()) g.params.push_back(*p.grad);
  g.dinitial = unroller.initial_state_gradients();
  return g;
}

// States entering each window under the (unperturbed) forward: [window][layer].
std::vector<std::vector<RecurrentState<double>>> entering_states(const StackCase& c, Index window) {
  std::vector<RecurrentRecord<double>> records(kLayers);
  Matrix<double> input = c.x;
  for (Index k = 0; k < kLayers; ++k) {
    RecurrentState<double> final_state;
    c.stack.layer(k).forward(input, c.initial[static_cast<std::size_t>(k)],
                             records[static_cast<std::size_t>(k)], final_state);
    input = records[static_cast<std::size_t>(k)].output();
  }
  std::vector<std::vector<RecurrentState<double>>> entering;
  for (Index start = 0; start < kSteps; start += window) {
    std::vector<RecurrentState<double>> states;
    for (Index k = 0; k < kLayers; ++k) {
      const RecurrentRecord<double>& r = records[static_cast<std::size_t>(k)];
      RecurrentState<double> s;
      s.h = r.h(start - 1);
      if (c.stack.layer(k).has_cell_state()) s.c = r.c(start - 1);
      states.push_back(s);
    }
    entering.push_back(states);
  }
  return entering;
}

// The truncated objective: sum over windows of <Y_w, V_w>, each window run from its entering
// state held constant (window 0 from the initial states, which stay variables).
double truncated_objective(const StackCase& c, Index window,
                           const std::vector<std::vector<RecurrentState<double>>>& entering) {
  double loss = 0.0;
  for (Index w = 0, start = 0; start < kSteps; ++w, start += window) {
    const Index cols = std::min(window, kSteps - start) * kBatch;
    Matrix<double> input = c.x.middleCols(start * kBatch, cols);
    for (Index k = 0; k < kLayers; ++k) {
      const auto uk = static_cast<std::size_t>(k);
      const RecurrentState<double>& s =
          w == 0 ? c.initial[uk] : entering[static_cast<std::size_t>(w)][uk];
      RecurrentRecord<double> record;
      RecurrentState<double> final_state;
      c.stack.layer(k).forward(input, s, record, final_state);
      input = record.output();
    }
    loss += dot(input, c.v.middleCols(start * kBatch, cols));
  }
  return loss;
}

Disagreement check_against_finite_differences(StackCase& c, Index window, const Gradients& g) {
  const auto entering = entering_states(c, window);
  auto objective = [&] { return truncated_objective(c, window, entering); };
  Disagreement disagreement;
  std::vector<Param<double>> params = c.stack.params();
  for (std::size_t p = 0; p < params.size(); ++p) {
    compare_with_finite_differences(objective, *params[p].value, g.params[p], params[p].name,
                                    disagreement);
  }
  compare_with_finite_differences(objective, c.x, g.dx, "x", disagreement);
  for (std::size_t k = 0; k < c.initial.size(); ++k) {
    compare_with_finite_differences(objective, c.initial[k].h, g.dinitial[k].h,
                                    fmt::format("h0_l{}", k), disagreement);
    if (c.stack.layer(static_cast<Index>(k)).has_cell_state()) {
      compare_with_finite_differences(objective, c.initial[k].c, g.dinitial[k].c,
                                      fmt::format("c0_l{}", k), disagreement);
    }
  }
  return disagreement;
}

double largest_difference(const Gradients& a, const Gradients& b) {
  double worst = max_relative_error(a.dx, b.dx);
  for (std::size_t p = 0; p < a.params.size(); ++p) {
    worst = std::max(worst, max_relative_error(a.params[p], b.params[p]));
  }
  return worst;
}

class EveryCellStack : public ::testing::TestWithParam<CellKind> {};

TEST_P(EveryCellStack, TwoLayerFullBpttMatchesFiniteDifferences) {
  StackCase c = make_case(GetParam(), 11);
  ASSERT_GT(testing::min_abs_preactivation(c.stack, c.x, kBatch, c.initial), 1e-3);
  const Gradients g = unrolled_gradients(c, 0);
  const Disagreement d = check_against_finite_differences(c, kSteps, g);
  EXPECT_LT(d.error, kTolerance) << d.where;
  for (const Matrix<double>& p : g.params) EXPECT_GT(p.cwiseAbs().maxCoeff(), 1e-3);
}

TEST_P(EveryCellStack, TruncatedBpttMatchesFiniteDifferencesOfTheTruncatedObjective) {
  StackCase c = make_case(GetParam(), 21);
  ASSERT_GT(testing::min_abs_preactivation(c.stack, c.x, kBatch, c.initial), 1e-3);
  constexpr Index kWindow = 2;  // windows [0, 2), [2, 4), [4, 5)
  const Gradients truncated = unrolled_gradients(c, kWindow);
  const Disagreement d = check_against_finite_differences(c, kWindow, truncated);
  EXPECT_LT(d.error, kTolerance) << d.where;
  // ... and it is not the full gradient.
  const Gradients full = unrolled_gradients(c, 0);
  EXPECT_GT(largest_difference(truncated, full), 1e-3);
}

TEST_P(EveryCellStack, OneWindowIsFullBpttBitForBitAndWindowOfOneDiffers) {
  StackCase c = make_case(GetParam(), 31);
  const Gradients full = unrolled_gradients(c, 0);
  for (Index window : {kSteps, kSteps + 3}) {
    const Gradients same = unrolled_gradients(c, window);
    EXPECT_EQ(same.y, full.y) << "K = " << window;
    EXPECT_EQ(same.dx, full.dx) << "K = " << window;
    for (std::size_t p = 0; p < full.params.size(); ++p) {
      EXPECT_EQ(same.params[p], full.params[p]) << "K = " << window << " parameter " << p;
    }
    for (std::size_t k = 0; k < full.dinitial.size(); ++k) {
      EXPECT_EQ(same.dinitial[k].h, full.dinitial[k].h) << "K = " << window;
    }
  }
  const Gradients one = unrolled_gradients(c, 1);
  EXPECT_GT(largest_difference(one, full), 1e-3);
  // The forward pass does not depend on the windows: the state is carried across their edges.
  EXPECT_LT(max_relative_error(one.y, full.y), 1e-14);
}

// Copies of what an observer sees.
struct SeenStep {
  Index layer;
  Index step;
  Index window;
  Index local_step;
  Matrix<double> dh;
  Matrix<double> dc;
  std::vector<Matrix<double>> jacobians;  // per sample
  double mean_derivative;
  std::optional<double> mean_keep;
};

class Recorder final : public TimeStepObserver<double> {
 public:
  void after_time_step(const TimeStepGradientEvent<double>& e) override {
    SeenStep seen{e.layer,
                  e.step,
                  e.window,
                  e.local_step,
                  e.dh,
                  e.dc,
                  {},
                  e.mean_activation_derivative(),
                  e.mean_keep_gate()};
    for (Index j = 0; j < e.dh.cols(); ++j) seen.jacobians.push_back(e.step_jacobian(j));
    steps.push_back(std::move(seen));
  }
  std::vector<SeenStep> steps;
};

// Every step once per layer, in decreasing global t; the totals obey the adjoint recursion
// dL/ds_t = (direct) + J_{t+1}^T dL/ds_{t+1} inside a window and are cut at its edge.
TEST_P(EveryCellStack, ObserverSeesEveryStepOncePerLayerWithTheTotalGradient) {
  StackCase c = make_case(GetParam(), 41);
  constexpr Index kWindow = 2;
  Recorder recorder;
  unrolled_gradients(c, kWindow, &recorder);
  ASSERT_EQ(recorder.steps.size(), static_cast<std::size_t>(kLayers * kSteps));
  const bool lstm = c.stack.layer(0).has_cell_state();
  std::map<std::pair<Index, Index>, const SeenStep*> by_step;
  for (Index k = 0; k < kLayers; ++k) {
    std::vector<Index> order;
    for (const SeenStep& s : recorder.steps) {
      if (s.layer != k) continue;
      order.push_back(s.step);
      EXPECT_EQ(s.window, s.step / kWindow);
      EXPECT_EQ(s.local_step, s.step % kWindow);
      EXPECT_EQ(s.dh.rows(), kHidden);
      EXPECT_EQ(s.dh.cols(), kBatch);
      EXPECT_EQ(s.dc.size(), lstm ? kHidden * kBatch : 0);
      EXPECT_EQ(s.mean_keep.has_value(), c.stack.layer(k).gates() > 1);
      EXPECT_GT(s.mean_derivative, 0.0);
      EXPECT_LE(s.mean_derivative, 1.0);
      by_step[{k, s.step}] = &s;
    }
    EXPECT_EQ(order, (std::vector<Index>{4, 3, 2, 1, 0})) << "layer " << k;
  }

  // Top layer: its dy is V. lambda = gradient w.r.t. the state (h_t, c_t) as independent
  // variables: for the LSTM lambda_c = dL/dc_t minus the part through h_t = o tanh(c_t).
  const Index top = kLayers - 1;
  Matrix<double> below = c.x;
  for (Index k = 0; k < top; ++k) {
    below = testing::reference_forward(c.stack.layer(k), below, kBatch,
                                       c.initial[static_cast<std::size_t>(k)])
                .y;
  }
  const testing::ReferenceRun reference = testing::reference_forward(
      c.stack.layer(top), below, kBatch, c.initial[static_cast<std::size_t>(top)]);
  auto lambda = [&](const SeenStep& s, Index j) {
    Vector<double> l(lstm ? 2 * kHidden : kHidden);
    l.head(kHidden) = s.dh.col(j);
    if (lstm) {
      const Index col = s.step * kBatch + j;
      const Vector<double> o = reference.gates.col(col).tail(kHidden);
      const Vector<double> tanh_c = reference.cell.col(col).array().tanh();
      l.tail(kHidden) =
          s.dc.col(j).array() - s.dh.col(j).array() * o.array() * (1.0 - tanh_c.array().square());
    }
    return l;
  };
  Disagreement disagreement;
  for (Index t = 0; t < kSteps; ++t) {
    const SeenStep& s = *by_step.at({top, t});
    const bool window_end = t % kWindow == kWindow - 1 || t == kSteps - 1;
    for (Index j = 0; j < kBatch; ++j) {
      Vector<double> expected = Vector<double>::Zero(lstm ? 2 * kHidden : kHidden);
      expected.head(kHidden) = c.v.col(t * kBatch + j);
      if (!window_end) {
        const SeenStep& next = *by_step.at({top, t + 1});
        expected += next.jacobians[static_cast<std::size_t>(j)].transpose() * lambda(next, j);
      }
      const Vector<double> seen = lambda(s, j);
      for (Index u = 0; u < seen.size(); ++u) {
        disagreement.compare(seen(u), expected(u), fmt::format("t {} sample {} unit {}", t, j, u));
      }
    }
  }
  EXPECT_LT(disagreement.error, 1e-12) << disagreement.where;
}

INSTANTIATE_TEST_SUITE_P(AllCells, EveryCellStack, ::testing::ValuesIn(testing::kAllCells),
                         [](const ::testing::TestParamInfo<CellKind>& param_info) {
                           std::string name(cell_name(param_info.param));
                           std::erase(name, '_');
                           return name;
                         });

// The article's RNN with W_hh = rho Q, at the origin: h_t = 0, tanh'(0) = 1, so
// J_t = 0.9 Q exactly and ||dL/dh_t|| falls by exactly 0.9 per step back in time.
TEST(Unroller, OrthogonalTimesRhoShrinksTheObservedGradientByRhoPerStep) {
  constexpr double kRho = 0.9;
  RecurrentStack<double> stack(CellKind::kRnnTanh, kInputs, kHidden, 1);
  Rng rng(51);
  orthogonal_hidden(stack.layer(0), kRho, rng);  // W_ih and biases stay 0
  Unroller<double> unroller(stack);
  const Matrix<double> x = rng.normal_matrix<double>(kInputs, kSteps * kBatch);
  const Matrix<double> y = unroller.forward(x, kBatch);
  ASSERT_TRUE(y.isZero(0.0));
  Matrix<double> dy = Matrix<double>::Zero(kHidden, kSteps * kBatch);
  dy.rightCols(kBatch) = rng.normal_matrix<double>(kHidden, kBatch);  // loss at the last step only
  Recorder recorder;
  unroller.backward(dy, &recorder);
  ASSERT_EQ(recorder.steps.size(), static_cast<std::size_t>(kSteps));
  for (std::size_t i = 1; i < recorder.steps.size(); ++i) {
    const double ratio = recorder.steps[i].dh.norm() / recorder.steps[i - 1].dh.norm();
    EXPECT_NEAR(ratio, kRho, 1e-12) << "t " << recorder.steps[i].step;
    EXPECT_EQ(recorder.steps[i].mean_derivative, 1.0);
  }
  // The product of the step Jacobians is rho^T times an orthogonal matrix.
  Matrix<double> product = Matrix<double>::Identity(kHidden, kHidden);
  for (Index t = 1; t < kSteps; ++t) product = unroller.step_jacobian(0, t, 0) * product;
  const double scale = std::pow(kRho, 2.0 * (kSteps - 1));
  EXPECT_LT((product.transpose() * product - scale * Matrix<double>::Identity(kHidden, kHidden))
                .cwiseAbs()
                .maxCoeff(),
            1e-14);
}

TEST(Unroller, StepJacobiansAndRecordsAreFoundByGlobalStep) {
  StackCase c = make_case(CellKind::kGru, 61);
  Unroller<double> unroller(c.stack, 2);
  unroller.forward(c.x, kBatch, c.initial);
  EXPECT_EQ(unroller.window_count(), 3);
  EXPECT_EQ(unroller.window_length(2), 1);
  for (Index k = 0; k < kLayers; ++k) {
    for (Index t = 0; t < kSteps; ++t) {
      const Matrix<double> expected =
          c.stack.layer(k).step_jacobian(unroller.record(k, t / 2), t % 2, 1);
      EXPECT_EQ(unroller.step_jacobian(k, t, 1), expected);
    }
  }
  EXPECT_THROW(unroller.step_jacobian(0, kSteps, 0), Error);
}

TEST(Unroller, FloatAndDoubleAgree) {
  for (CellKind kind : {CellKind::kLstm, CellKind::kGru, CellKind::kRnnTanh}) {
    StackCase c = make_case(kind, 71);
    const Gradients g = unrolled_gradients(c, 2);
    RecurrentStack<float> stack_f(kind, kInputs, kHidden, kLayers);
    std::vector<Param<float>> params_f = stack_f.params();
    std::vector<Param<double>> params = c.stack.params();
    for (std::size_t p = 0; p < params.size(); ++p) {
      *params_f[p].value = params[p].value->cast<float>();
    }
    std::vector<RecurrentState<float>> initial_f;
    for (const RecurrentState<double>& s : c.initial) {
      initial_f.push_back({s.h.cast<float>(), s.c.cast<float>()});
    }
    Unroller<float> unroller_f(stack_f, 2);
    const Matrix<float> x_f = c.x.cast<float>();
    const Matrix<float> y_f = unroller_f.forward(x_f, kBatch, initial_f);
    const Matrix<float> v_f = c.v.cast<float>();
    const Matrix<float> dx_f = unroller_f.backward(v_f);
    EXPECT_LT(max_relative_error(y_f.cast<double>(), g.y), 1e-4) << cell_name(kind);
    EXPECT_LT(max_relative_error(dx_f.cast<double>(), g.dx), 1e-4) << cell_name(kind);
    params_f = stack_f.params();
    for (std::size_t p = 0; p < params.size(); ++p) {
      EXPECT_LT(max_relative_error(params_f[p].grad->cast<double>(), g.params[p]), 1e-4)
          << cell_name(kind) << " " << params[p].name;
    }
  }
}

// A long sequence fed in two batches, the second starting from final_states() of the first,
// gives the outputs of one forward over the whole sequence.
TEST(Unroller, CarryingFinalStatesContinuesTheSequence) {
  StackCase c = make_case(CellKind::kLstm, 91);
  Unroller<double> whole(c.stack);
  const Matrix<double> y = whole.forward(c.x, kBatch, c.initial);
  Unroller<double> pieces(c.stack, 2);
  const Index split = 3 * kBatch;
  const Matrix<double> y_a = pieces.forward(c.x.leftCols(split), kBatch, c.initial);
  const Matrix<double> y_b =
      pieces.forward(c.x.rightCols(kSteps * kBatch - split), kBatch, pieces.final_states());
  EXPECT_LT(max_relative_error(y_a, y.leftCols(split)), 1e-14);
  EXPECT_LT(max_relative_error(y_b, y.rightCols(kSteps * kBatch - split)), 1e-14);
  EXPECT_LT(max_relative_error(pieces.final_states()[1].c, whole.final_states()[1].c), 1e-14);
}

TEST(RecurrentStack, ParameterNamesFollowPytorch) {
  RecurrentStack<double> stack(CellKind::kLstm, kInputs, kHidden, 2);
  std::vector<std::string> names;
  for (const Param<double>& p : stack.params()) names.push_back(p.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                      "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"}));
  EXPECT_EQ(stack.layer(1).weight_ih().rows(), 4 * kHidden);
  EXPECT_EQ(stack.layer(1).weight_ih().cols(), kHidden);
  EXPECT_THROW(stack.add(make_recurrent_layer<double>(CellKind::kGru, kHidden + 1, kHidden)),
               Error);
}

TEST(Unroller, RejectsBadInput) {
  StackCase c = make_case(CellKind::kRnnTanh, 81);
  EXPECT_THROW(Unroller<double>(c.stack, -1), Error);
  Unroller<double> unroller(c.stack, 2);
  EXPECT_THROW(unroller.backward(c.v), Error);  // before any forward
  unroller.forward(c.x, kBatch);
  EXPECT_THROW(unroller.backward(c.v.leftCols(kBatch)), Error);
  const Matrix<double> ragged = Matrix<double>::Zero(kInputs, kSteps * kBatch + 1);
  EXPECT_THROW(unroller.forward(ragged, kBatch), Error);
}

}  // namespace
}  // namespace gradscope
