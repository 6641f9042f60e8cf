// What one training step reports: the trainer fills it, the run log and the doctor read it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "gradscope/probe/layer_record.hpp"

namespace gradscope {

// One recurrent layer's curves over the time steps of a sequence, t = 0 .. T-1 (first input
// step first), from one backward pass.
struct TimeStepRecord {
  int layer = 0;                              // 0 = next to the input
  std::vector<double> grad_norm;              // ||dL/dh_t|| per sample, averaged over the batch
  std::vector<double> cell_grad_norm;         // LSTM: ||dL/dc_t||; empty for other cells
  std::vector<double> activation_derivative;  // mean phi' at step t (see RecurrentLayer)
  std::vector<double> keep_gate;              // LSTM mean f_t, GRU mean z_t; empty for the RNN
};

struct StepRecord {
  long step = 0;           // 1-based
  double loss = 0.0;       // training loss of this step's batch
  double grad_norm = 0.0;  // global gradient norm before clipping
  bool clipped = false;    // gradient rescaled by --clip
  bool skipped = false;    // update skipped (non-finite, --on-nonfinite skip)
  bool loss_finite = true;
  bool grad_finite = true;
  bool weight_finite = true;
  std::string first_nonfinite;  // first parameter with a non-finite gradient, e.g. "4.weight"
  double lr = 0.0;
  std::vector<LayerRecord> layers;         // empty on steps the probe did not observe
  std::vector<TimeStepRecord> time_steps;  // recurrent models, on observed steps
};

struct EvalRecord {
  long step = 0;
  double loss = 0.0;
  std::optional<double> accuracy;  // classification tasks only
};

}  // namespace gradscope
