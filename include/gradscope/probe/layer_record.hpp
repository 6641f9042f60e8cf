// What the gradient probe measures at one layer l (the article's h_l) in one backward pass.
#pragma once

#include <optional>
#include <string>

namespace gradscope {

struct LayerRecord {
  int index = 0;                 // 1 = next to the input ... L = the output layer
  std::string name;              // parameter prefix of the layer's weights, "0", "2", ... (PyTorch)
  std::string kind;              // "dense", ...
  std::string activation;        // the activation that follows, or "identity"
  double grad_norm = 0.0;        // ||dL/dh_l|| per sample, averaged over the batch
  double grad_norm_batch = 0.0;  // ||dL/dh_l|| of the whole (units, batch) matrix
  double weight_norm = 0.0;      // ||W_l||_F
  double weight_grad_norm = 0.0;       // ||dL/dW_l||_F
  double rel_dist_init = 0.0;          // ||W_l - W_l(0)||_F / ||W_l(0)||_F
  std::optional<double> update_ratio;  // ||W_l after - W_l before||_F / ||W_l before||_F
  double saturated = 0.0;  // fraction of (unit, sample) with phi' < 1% of max phi' (sigmoid, tanh)
  double dead = 0.0;       // fraction of units with zero output on every sample (relu)
  bool nonfinite = false;  // NaN or Inf in dL/dh_l, W_l or dL/dW_l
  // Residual blocks: dL/dh_{l-1} = skip part + branch part, each's ||.|| per sample, averaged.
  std::optional<double> skip_grad_norm;
  std::optional<double> branch_grad_norm;
  // On steps that measure Jacobian spectra (--spectrum-every): J_l = dh_l / dh_{l-1} at the
  // batch's first sample; recurrent layers: the mean over steps of dh_t / dh_{t-1}.
  std::optional<double> jacobian_spectral_radius;  // square Jacobians only
  std::optional<double> jacobian_spectral_norm;
};

}  // namespace gradscope
