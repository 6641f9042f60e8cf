// Every layer's Jacobian J_l = dh_l / dh_{l-1} at one sample, as explicit matrices in double, and
// their spectra: what the training log records every N steps (--spectrum-every), so that a drift
// toward vanishing during training can be watched. For the long products of a deep network use
// NetworkChain, which never stores the Jacobians.
#pragma once

#include <vector>

#include "gradscope/analysis/matrix_spectrum.hpp"
#include "gradscope/nn/sequential.hpp"
#include "gradscope/rnn/unroller.hpp"

namespace gradscope {

// J_1 .. J_L (layers as in probe/layer_grouping.hpp) at the sample x (inputs, 1), each the
// product of its children's jacobian() at the sample's point of the forward pass.
template <typename Scalar>
std::vector<Matrix<double>> layer_jacobians(const Sequential<Scalar>& body,
                                            ConstMatrixRef<Scalar> x_sample);

// Mean over steps of the spectral radius and the spectral norm of J_t = dh_t / dh_{t-1} of one
// recurrent layer, at one sample of the unroller's last forward, over at most `max_steps` steps
// spread evenly over 1 .. T-1 (each costs an eigenvalue and a singular value decomposition).
struct StepSpectrumMeans {
  double spectral_radius = 0.0;
  double spectral_norm = 0.0;
  Index steps = 0;  // how many steps the means are over
};
template <typename Scalar>
StepSpectrumMeans mean_step_spectrum(const Unroller<Scalar>& unroller, Index layer, Index sample,
                                     Index max_steps = 50);

}  // namespace gradscope
