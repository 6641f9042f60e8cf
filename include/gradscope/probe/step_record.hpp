// What one training step reports: the trainer fills it, the run log and the doctor read it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "gradscope/probe/layer_record.hpp"

namespace gradscope {

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
  std::vector<LayerRecord> layers;  // empty on steps the probe did not observe
};

struct EvalRecord {
  long step = 0;
  double loss = 0.0;
  std::optional<double> accuracy;  // classification tasks only
};

}  // namespace gradscope
