// The geometric picture of one model at one point: every factor's spectrum, and the spectrum of
// their product next to the gradient ratio the backward pass actually measures.
//
// The product is over the square part of the model, where the article's rho^T argument applies:
//   MLP  layers 2 .. L-1, J_l = dh_l / dh_{l-1}, from h_1 (first hidden layer) to h_{L-1} (last
//        hidden layer); measured ratio ||dL/dh_1|| / ||dL/dh_{L-1}|| from the gradient probe.
//   RNN  steps 1 .. T-1 of one recurrent layer, J_t = dh_t / dh_{t-1} (LSTM: the state (h, c),
//        2H x 2H); measured ratio ||dL/dh_0|| / ||dL/dh_{T-1}|| from the time-step probe, which
//        is meaningful when the loss sits at the last step (adding, temporal order).
// Three numbers are put side by side (log10 of first/last):
//   predicted       the article's: sum over factors of log10 rho(J_l) (rho^T for equal factors)
//   lyapunov        from the product's singular values: a gradient with no preferred direction
//                   grows by sqrt(mean sigma_i^2) — log10 of that
//   measured        the backward pass
// The factors' points are those of sample `sample` of the batch; the measured ratio is the batch
// mean of per-sample norms, as the probe reports it.
//
// Networks whose forward depends on the mode (BatchNorm) are analysed in evaluation mode, the
// only mode with per-sample Jacobians: the running averages are first set from this batch by
// training-mode forwards, then the network stays in evaluation mode.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gradscope/analysis/matrix_spectrum.hpp"
#include "gradscope/analysis/product_spectrum.hpp"
#include "gradscope/model/recurrent_model.hpp"
#include "gradscope/nn/loss.hpp"
#include "gradscope/nn/network.hpp"
#include "gradscope/tasks/sequence_task.hpp"

namespace gradscope {

struct SpectrumOptions {
  Index lyapunov = 0;  // Lyapunov exponents to compute; 0: all
  Index sample = 0;    // which sample of the batch the Jacobians are taken at
  Index layer = 0;     // recurrent models: which recurrent layer (0 = next to the input)
  bool all_singular_values = false;  // per factor
  std::uint64_t seed = 0;            // the starting directions of the QR passes
  // Called as work proceeds, stage by stage: "factor spectra", "Lyapunov exponents" (per
  // factor), "product singular values" (per pass).
  std::function<void(std::string_view stage, Index done, Index total)> progress;
};

struct FactorSpectrum {
  int index = 0;     // MLP: layer l (1-based); RNN: step t
  std::string name;  // MLP: the layer's parameter prefix; RNN: "t"
  std::string kind;  // "dense", "residual", "rnn_tanh", ...
  MatrixSpectrum spectrum;
};

struct ProductSummary {
  std::string span;  // "layers 2..19" or "steps 1..99"
  Index factors = 0;
  Index dimension = 0;  // the width the product acts on
  double log10_sigma_max = 0.0;
  double log10_sigma_min = 0.0;
  bool singular_values_converged = false;
  double singular_values_last_change = 0.0;     // in natural log, see ProductSingularValues
  std::vector<double> lyapunov;                 // per factor, natural log, descending
  std::optional<double> predicted_log10_ratio;  // none when a factor is not square
  double lyapunov_log10_ratio = 0.0;
  double measured_log10_ratio = 0.0;
  // Recurrent models: the memory horizon (memory_horizon.hpp).
  std::optional<double> predicted_horizon;
  std::optional<Index> measured_horizon;
  std::optional<Index> recommended_window;
};

struct SpectrumReport {
  std::vector<FactorSpectrum> factors;  // every layer (MLP, including layer 1 and the head)
  ProductSummary product;
};

// Needs depth >= 3 (a product over at least one hidden-to-hidden layer).
SpectrumReport analyse_network(Network<double>& network, ConstMatrixRef<double> x,
                               const Targets<double>& targets, const Loss<double>& loss,
                               const SpectrumOptions& options);

// Needs sequences of at least 2 steps.
SpectrumReport analyse_recurrent(RecurrentModel<double>& model, const SequenceBatch<double>& batch,
                                 const Loss<double>& loss, const SpectrumOptions& options);

}  // namespace gradscope
