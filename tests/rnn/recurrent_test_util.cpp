#include "rnn/recurrent_test_util.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "gradscope/rnn/rnn_layer.hpp"

namespace gradscope::testing {
namespace {

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

}  // namespace

void randomize(RecurrentLayer<double>& layer, Rng& rng, double scale) {
  for (Param<double>& p : layer.params()) {
    *p.value = rng.normal_matrix<double>(p.value->rows(), p.value->cols(), scale);
  }
  if (layer.cell() == CellKind::kRnnRelu) layer.bias_ih().array() += 0.5;
}

void randomize(RecurrentStack<double>& stack, Rng& rng, double scale) {
  for (Index k = 0; k < stack.size(); ++k) randomize(stack.layer(k), rng, scale);
}

RecurrentState<double> random_state(const RecurrentLayer<double>& layer, Index batch, Rng& rng) {
  RecurrentState<double> state;
  state.h = rng.normal_matrix<double>(layer.hidden_size(), batch, 0.5);
  if (layer.cell() == CellKind::kRnnRelu) state.h = state.h.cwiseAbs();  // a relu layer's range
  if (layer.has_cell_state()) state.c = rng.normal_matrix<double>(layer.hidden_size(), batch);
  return state;
}

std::vector<RecurrentState<double>> random_states(const RecurrentStack<double>& stack, Index batch,
                                                  Rng& rng) {
  std::vector<RecurrentState<double>> states;
  for (Index k = 0; k < stack.size(); ++k)
    states.push_back(random_state(stack.layer(k), batch, rng));
  return states;
}

ReferenceRun reference_forward(const RecurrentLayer<double>& layer, const Matrix<double>& x,
                               Index batch, const RecurrentState<double>& initial) {
  const Index hidden = layer.hidden_size();
  const Index gates = layer.gates();
  const Index steps = x.cols() / batch;
  ReferenceRun run;
  run.y.resize(hidden, steps * batch);
  run.preactivations.resize(gates * hidden, steps * batch);
  run.gates.resize(gates * hidden, steps * batch);
  run.cell.setZero(hidden, steps * batch);
  run.final = initial;
  for (Index j = 0; j < batch; ++j) {
    Vector<double> h = initial.h.col(j);
    Vector<double> c =
        layer.has_cell_state() ? Vector<double>(initial.c.col(j)) : Vector<double>::Zero(hidden);
    for (Index t = 0; t < steps; ++t) {
      const Index col = t * batch + j;
      const Vector<double> gi = layer.weight_ih() * x.col(col) + layer.bias_ih();
      const Vector<double> gh = layer.weight_hh() * h + layer.bias_hh();
      run.preactivations.col(col) = gi + gh;
      Vector<double> next(hidden);
      for (Index u = 0; u < hidden; ++u) {
        switch (layer.cell()) {
          case CellKind::kRnnTanh:
            next(u) = std::tanh(gi(u) + gh(u));
            run.gates(u, col) = next(u);
            break;
          case CellKind::kRnnRelu:
            next(u) = std::max(0.0, gi(u) + gh(u));
            run.gates(u, col) = next(u);
            break;
          case CellKind::kLstm: {
            const double i = sigmoid(gi(u) + gh(u));
            const double f = sigmoid(gi(hidden + u) + gh(hidden + u));
            const double g = std::tanh(gi(2 * hidden + u) + gh(2 * hidden + u));
            const double o = sigmoid(gi(3 * hidden + u) + gh(3 * hidden + u));
            c(u) = f * c(u) + i * g;
            next(u) = o * std::tanh(c(u));
            run.gates(u, col) = i;
            run.gates(hidden + u, col) = f;
            run.gates(2 * hidden + u, col) = g;
            run.gates(3 * hidden + u, col) = o;
            run.cell(u, col) = c(u);
            break;
          }
          case CellKind::kGru: {
            const double r = sigmoid(gi(u) + gh(u));
            const double z = sigmoid(gi(hidden + u) + gh(hidden + u));
            const double n = std::tanh(gi(2 * hidden + u) + r * gh(2 * hidden + u));
            next(u) = (1.0 - z) * n + z * h(u);
            run.gates(u, col) = r;
            run.gates(hidden + u, col) = z;
            run.gates(2 * hidden + u, col) = n;
            break;
          }
        }
      }
      h = next;
      run.y.col(col) = h;
    }
    run.final.h.col(j) = h;
    if (layer.has_cell_state()) run.final.c.col(j) = c;
  }
  return run;
}

double min_abs_preactivation(const RecurrentStack<double>& stack, const Matrix<double>& x,
                             Index batch, const std::vector<RecurrentState<double>>& initial) {
  double result = std::numeric_limits<double>::infinity();
  Matrix<double> input = x;
  for (Index k = 0; k < stack.size(); ++k) {
    const ReferenceRun run =
        reference_forward(stack.layer(k), input, batch, initial[static_cast<std::size_t>(k)]);
    result = std::min(result, run.preactivations.cwiseAbs().minCoeff());
    input = run.y;
  }
  return result;
}

void compare_with_finite_differences(const std::function<double()>& objective,
                                     Matrix<double>& value, const Matrix<double>& analytic,
                                     const std::string& name, Disagreement& disagreement) {
  const Matrix<double> original = value;
  const Matrix<double> fd = finite_difference_jacobian(
      [&](const Matrix<double>& v) {
        value = v;
        return Matrix<double>::Constant(1, 1, objective());
      },
      original);
  value = original;
  for (Index k = 0; k < value.size(); ++k) {
    disagreement.compare(analytic(k), fd(0, k), fmt::format("{}[{}]", name, k));
  }
}

double dot(const Matrix<double>& a, const Matrix<double>& b) {
  return (a.array() * b.array()).sum();
}

double max_relative_error(const Matrix<double>& a, const Matrix<double>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return std::numeric_limits<double>::infinity();
  double worst = 0.0;
  for (Index k = 0; k < a.size(); ++k) worst = std::max(worst, relative_error(a(k), b(k)));
  return worst;
}

}  // namespace gradscope::testing
