// What the doctor's rules measure on a logged run: robust statistics, the gradient-norm profile
// against depth, the per-step profile through time, the loss trend. Shared by every rule so the
// rules themselves stay a screen each (src/doctor/*_rule.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gradscope/core/statistics.hpp"
#include "gradscope/probe/run_log_reader.hpp"

namespace gradscope::doctor {

// A value that is present, finite and > 0 (log10 is defined).
bool positive(const std::optional<double>& value);
// A value that is present and finite.
bool finite(const std::optional<double>& value);

// A recurrent layer record (`kind` a cell, or a name "rnn.weight_hh_l<k>").
bool is_recurrent_layer(const LoggedLayer& layer);
bool is_recurrent_run(const LoggedRun& run);
// sigmoid or tanh: derivatives that go to 0 for large |z|.
bool is_saturating(std::string_view activation);
// Plain ReLU (leaky ReLU and GELU do not die).
bool is_relu(std::string_view activation);

// The steps that carry per-layer records, in file order.
std::vector<const LoggedStep*> probed_steps(const LoggedRun& run);

// log10 of the per-layer gradient norm against the layer index on one probed step, over the
// feed-forward layers whose norm is positive and finite (zeros belong to dead layers).
struct DepthProfile {
  long step = 0;
  std::vector<long> index;
  std::vector<double> log10_grad;
  double slope = 0.0;        // fitted decades per layer; > 0: the gradient grows toward the output
  double decades = 0.0;      // log10(last / first): < 0 vanishing toward the input, > 0 growing
  double decades_fit = 0.0;  // slope * (last index - first index)
};
// Empty when fewer than 3 layers have a usable norm.
std::optional<DepthProfile> depth_profile(const LoggedStep& step);

// The horizon of one recurrent layer's per-step gradient on one probed step: how many steps
// back from the last the gradient stays above `floor` times the last step's.
struct TimeProfile {
  long step = 0;
  long layer = 0;
  long length = 0;   // T, the steps in the curve
  long horizon = 0;  // steps back from t = T before the first value below floor * g(T); T if none
  double decades = 0.0;           // log10(g(1) / g(T)) over the usable values; > 0 grows backward
  double decades_per_step = 0.0;  // fitted decay rate over the horizon (> 0: vanishing)
  double last = 0.0;              // g(T)
};
// Zeros are skipped when `truncated` (truncated BPTT zeroes steps outside the windows).
std::optional<TimeProfile> time_profile(const LoggedTimeSteps& curve, long step, double floor,
                                        bool truncated);

// Training loss at the start and the end: medians of the first and last tenth (at least 3 and
// at most 50 finite losses each).
struct LossTrend {
  long first_step = 0;
  long last_step = 0;
  double first = 0.0;
  double last = 0.0;
  double min = 0.0;
  long count = 0;
};
std::optional<LossTrend> loss_trend(const LoggedRun& run);

// The loss a run ended with: the last eval record's loss, else the end of the loss trend.
std::optional<double> final_loss(const LoggedRun& run);

// Formatting for evidence lines: 3 significant digits; "steps 1-200".
std::string num(double value);
std::string step_range(long first, long last);

}  // namespace gradscope::doctor
