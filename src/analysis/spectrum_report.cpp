#include "gradscope/analysis/spectrum_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "gradscope/analysis/memory_horizon.hpp"
#include "gradscope/analysis/network_chain.hpp"
#include "gradscope/core/error.hpp"
#include "gradscope/probe/probe_once.hpp"
#include "gradscope/probe/probe_sequence.hpp"

namespace gradscope {

namespace {

constexpr double kLn10 = 2.302585092994046;

// Training-mode forwards move BatchNorm's running averages towards this batch's statistics by
// a factor (1 - momentum) each; 60 passes at PyTorch's momentum 0.1 leave 0.9^60 < 0.2%.
constexpr int kCalibrationPasses = 60;

void report(const SpectrumOptions& options, std::string_view stage, Index done, Index total) {
  if (options.progress) options.progress(stage, done, total);
}

ChainProgress stage_progress(const SpectrumOptions& options, std::string_view stage) {
  return [&options, stage](Index done, Index total) { report(options, stage, done, total); };
}

// The factors' own spectra, --threads at a time: the slowest stage of a deep report.
std::vector<MatrixSpectrum> factor_spectra(Index count,
                                           const std::function<Matrix<double>(Index)>& factor,
                                           const SpectrumOptions& options) {
  return matrix_spectra(count, factor, options.all_singular_values,
                        [&](Index done) { report(options, "factor spectra", done, count); });
}

// log10 sqrt(mean_i sigma_i^2) from natural-log singular values, without leaving log scale.
double log10_rms(const std::vector<double>& log_sigma, Index dimension) {
  const double top = log_sigma.front();
  if (!std::isfinite(top)) return top / kLn10;
  double sum = 0.0;
  for (double s : log_sigma) sum += std::exp(2.0 * (s - top));
  return (top + 0.5 * std::log(sum / static_cast<double>(dimension))) / kLn10;
}

// The product's spectrum: Lyapunov exponents, singular values, the singular-value prediction.
void summarise_product(const JacobianChain& chain, const SpectrumOptions& options,
                       ProductSummary& product) {
  product.factors = chain.length();
  product.dimension = chain.min_width();
  // The blocked pass: the same exponents to 1e-5 for a sixth of the QRs on a Gaussian tanh net.
  product.lyapunov =
      lyapunov_spectrum_blocked(chain, options.lyapunov, options.seed, kDefaultMaxBlockLogSpread,
                                stage_progress(options, "Lyapunov exponents"))
          .exponents;
  // Reported to 4 digits of log10, so 1e-6 in log is plenty. Each pass costs as much as the
  // Lyapunov pass; six separate the extreme singular values of deep products (their ratio is
  // exponential in depth), while close pairs in the bulk may still be moving: last_change says
  // by how much.
  const ProductSingularValues sigma =
      product_singular_values(chain, 0, options.seed + 1, /*max_passes=*/6, 1e-6,
                              stage_progress(options, "product singular values"));
  product.singular_values_converged = sigma.converged;
  product.singular_values_last_change = sigma.last_change;
  product.log10_sigma_max = sigma.log_singular_values.front() / kLn10;
  product.log10_sigma_min = sigma.log_singular_values.back() / kLn10;
  product.lyapunov_log10_ratio = log10_rms(sigma.log_singular_values, product.dimension);
}

// Sum of log10 rho over square factors; none if any factor is not square.
std::optional<double> rho_prediction(const std::vector<FactorSpectrum>& factors) {
  double sum = 0.0;
  for (const FactorSpectrum& f : factors) {
    if (!f.spectrum.spectral_radius) return std::nullopt;
    sum += std::log10(*f.spectrum.spectral_radius);
  }
  return sum;
}

double log10_ratio(double first, double last) {
  if (!(last > 0.0)) return std::numeric_limits<double>::quiet_NaN();
  return std::log10(first / last);
}

}  // namespace

SpectrumReport analyse_network(Network<double>& network, ConstMatrixRef<double> x,
                               const Targets<double>& targets, const Loss<double>& loss,
                               const SpectrumOptions& options) {
  if (options.sample < 0 || options.sample >= x.cols()) {
    throw_bad_input("spectrum: sample {} is not in the batch of {}", options.sample, x.cols());
  }
  if (network.body().depends_on_mode()) {
    network.set_training(true);
    for (int pass = 0; pass < kCalibrationPasses; ++pass) network.forward(x);
    network.set_training(false);
  }
  const ProbeResult measured = probe_once(network, x, targets, loss);
  const Index layers = static_cast<Index>(measured.layers.size());
  if (layers < 3) {
    throw_bad_input(
        "spectrum: the product runs over layers 2..L-1, so the network needs at least "
        "3 layers, it has {}",
        layers);
  }

  SpectrumReport result;
  const NetworkChain all_layers(network.body(), x.col(options.sample), 1, layers);
  std::vector<MatrixSpectrum> spectra = factor_spectra(
      layers, [&](Index l) { return all_layers.factor(l); }, options);
  for (Index l = 0; l < layers; ++l) {
    const LayerRecord& record = measured.layers[static_cast<std::size_t>(l)];
    FactorSpectrum factor;
    factor.index = record.index;
    factor.name = record.name;
    factor.kind = record.kind;
    factor.spectrum = std::move(spectra[static_cast<std::size_t>(l)]);
    result.factors.push_back(std::move(factor));
  }

  const NetworkChain hidden(network.body(), x.col(options.sample), 2, layers - 1);
  ProductSummary& product = result.product;
  product.span = fmt::format("layers 2..{}", layers - 1);
  summarise_product(hidden, options, product);
  product.predicted_log10_ratio =
      rho_prediction({result.factors.begin() + 1,
                      result.factors.begin() + static_cast<std::ptrdiff_t>(layers - 1)});
  product.measured_log10_ratio =
      log10_ratio(measured.layers.front().grad_norm,
                  measured.layers[static_cast<std::size_t>(layers - 2)].grad_norm);
  return result;
}

SpectrumReport analyse_recurrent(RecurrentModel<double>& model, const SequenceBatch<double>& batch,
                                 const Loss<double>& loss, const SpectrumOptions& options) {
  if (batch.steps < 2) throw_bad_input("spectrum: sequences need at least 2 steps");
  if (options.sample < 0 || options.sample >= batch.size()) {
    throw_bad_input("spectrum: sample {} is not in the batch of {}", options.sample, batch.size());
  }
  if (options.layer < 0 || options.layer >= model.stack().size()) {
    throw_bad_input("spectrum: recurrent layer {} does not exist (the model has {})", options.layer,
                    model.stack().size());
  }
  const SequenceProbeResult measured = probe_sequence(model, batch, loss);
  const std::vector<double>& norms =
      measured.layers[static_cast<std::size_t>(options.layer)].grad_norm;

  SpectrumReport result;
  std::vector<Matrix<double>> steps;
  const Index length = batch.steps - 1;
  const std::string kind(model.stack().layer(options.layer).kind());
  for (Index t = 1; t < batch.steps; ++t) {
    steps.push_back(model.unroller().step_jacobian(options.layer, t, options.sample));
  }
  std::vector<MatrixSpectrum> spectra = factor_spectra(
      length, [&](Index i) { return steps[static_cast<std::size_t>(i)]; }, options);
  for (Index t = 1; t < batch.steps; ++t) {
    FactorSpectrum factor;
    factor.index = static_cast<int>(t);
    factor.name = fmt::format("t{}", t);
    factor.kind = kind;
    factor.spectrum = std::move(spectra[static_cast<std::size_t>(t - 1)]);
    result.factors.push_back(std::move(factor));
  }

  const ExplicitChain chain(std::move(steps));
  ProductSummary& product = result.product;
  product.span = fmt::format("steps 1..{}", length);
  summarise_product(chain, options, product);
  product.predicted_log10_ratio = rho_prediction(result.factors);
  product.measured_log10_ratio = log10_ratio(norms.front(), norms.back());
  product.predicted_horizon = predicted_horizon(product.lyapunov.front());
  product.measured_horizon = measured_horizon(norms);
  product.recommended_window = recommended_window(product.predicted_horizon, batch.steps);
  return result;
}

}  // namespace gradscope
