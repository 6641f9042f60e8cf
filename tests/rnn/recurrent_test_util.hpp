// Shared pieces of the recurrent tests: random layers, a naive reference forward written straight
// from torch.nn.RNN/LSTM/GRU's documented equations (one sample, one step at a time), and a
// finite-difference check of any parameter-like matrix.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "gradscope/core/random.hpp"
#include "gradscope/rnn/recurrent_layer.hpp"
#include "gradscope/rnn/recurrent_stack.hpp"
#include "support/gradient_check.hpp"

namespace gradscope::testing {

inline constexpr CellKind kAllCells[] = {CellKind::kRnnTanh, CellKind::kRnnRelu, CellKind::kLstm,
                                         CellKind::kGru};

// Parameters ~ N(0, scale^2) (the relu RNN gets a positive bias so most units are active).
void randomize(RecurrentLayer<double>& layer, Rng& rng, double scale = 0.5);
void randomize(RecurrentStack<double>& stack, Rng& rng, double scale = 0.5);
RecurrentState<double> random_state(const RecurrentLayer<double>& layer, Index batch, Rng& rng);
std::vector<RecurrentState<double>> random_states(const RecurrentStack<double>& stack, Index batch,
                                                  Rng& rng);

struct ReferenceRun {
  Matrix<double> y;               // (H, T B)
  RecurrentState<double> final;   // h (and c) after the last step
  Matrix<double> preactivations;  // (G H, T B): W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
  Matrix<double> gates;           // (G H, T B): LSTM i,f,g,o; GRU r,z,n; RNN h_t
  Matrix<double> cell;            // (H, T B): LSTM c_t
};
ReferenceRun reference_forward(const RecurrentLayer<double>& layer, const Matrix<double>& x,
                               Index batch, const RecurrentState<double>& initial);

// Smallest |pre-activation| of every layer of a stack run over x (a relu RNN's kink is at 0).
double min_abs_preactivation(const RecurrentStack<double>& stack, const Matrix<double>& x,
                             Index batch, const std::vector<RecurrentState<double>>& initial);

// Compares analytic(k) with the central difference of objective() in value(k), for every k.
// `value` is perturbed in place and restored.
void compare_with_finite_differences(const std::function<double()>& objective,
                                     Matrix<double>& value, const Matrix<double>& analytic,
                                     const std::string& name, Disagreement& disagreement);

// <a, b> summed over all entries.
double dot(const Matrix<double>& a, const Matrix<double>& b);

// Largest |a - b| / max(|a|, |b|, 1) over all entries (shapes must agree).
double max_relative_error(const Matrix<double>& a, const Matrix<double>& b);

}  // namespace gradscope::testing
