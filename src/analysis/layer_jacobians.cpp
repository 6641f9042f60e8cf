#include "gradscope/analysis/layer_jacobians.hpp"

#include "gradscope/analysis/matrix_spectrum.hpp"
#include "gradscope/core/error.hpp"
#include "gradscope/probe/layer_grouping.hpp"

namespace gradscope {

template <typename Scalar>
std::vector<Matrix<double>> layer_jacobians(const Sequential<Scalar>& body,
                                            ConstMatrixRef<Scalar> x_sample) {
  if (x_sample.cols() != 1) {
    throw_bad_input("layer Jacobians: one sample at a time, got {} columns", x_sample.cols());
  }
  std::vector<Matrix<double>> jacobians;
  Matrix<Scalar> h = x_sample;
  Matrix<Scalar> y;
  Saved<Scalar> saved;
  for (const LayerGroup& group : group_layers(body)) {
    Matrix<double> j = Matrix<double>::Identity(h.rows(), h.rows());
    for (Index c = group.first_child; c <= group.last_child; ++c) {
      const Layer<Scalar>& child = body.layer(c);
      j = child.jacobian(h).template cast<double>() * j;
      y.resize(child.output_size(h.rows()), 1);
      saved = {};
      child.forward(h, y, saved);
      h.swap(y);
    }
    jacobians.push_back(std::move(j));
  }
  return jacobians;
}

template <typename Scalar>
StepSpectrumMeans mean_step_spectrum(const Unroller<Scalar>& unroller, Index layer, Index sample,
                                     Index max_steps) {
  StepSpectrumMeans means;
  const Index steps = unroller.steps();
  if (steps < 2 || max_steps < 1) return means;
  const Index stride = std::max<Index>(1, (steps - 1 + max_steps - 1) / max_steps);
  std::vector<Matrix<double>> jacobians;
  for (Index t = 1; t < steps; t += stride) {
    Matrix<double> j = unroller.step_jacobian(layer, t, sample).template cast<double>();
    if (!j.allFinite()) continue;  // a blown-up state: the layer's record says nonfinite
    jacobians.push_back(std::move(j));
  }
  const std::vector<MatrixSpectrum> spectra =
      matrix_spectra(static_cast<Index>(jacobians.size()),
                     [&](Index i) { return jacobians[static_cast<std::size_t>(i)]; });
  for (const MatrixSpectrum& s : spectra) {
    means.spectral_radius += *s.spectral_radius;
    means.spectral_norm += s.spectral_norm;
    ++means.steps;
  }
  if (means.steps == 0) return means;
  means.spectral_radius /= static_cast<double>(means.steps);
  means.spectral_norm /= static_cast<double>(means.steps);
  return means;
}

template std::vector<Matrix<double>> layer_jacobians<float>(const Sequential<float>&,
                                                            ConstMatrixRef<float>);
template std::vector<Matrix<double>> layer_jacobians<double>(const Sequential<double>&,
                                                             ConstMatrixRef<double>);
template StepSpectrumMeans mean_step_spectrum<float>(const Unroller<float>&, Index, Index, Index);
template StepSpectrumMeans mean_step_spectrum<double>(const Unroller<double>&, Index, Index, Index);

}  // namespace gradscope
