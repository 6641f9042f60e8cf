#include "gradscope/experiments/registry.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "gradscope/core/error.hpp"

namespace gradscope {

std::vector<std::unique_ptr<Experiment>> make_experiments() {
  std::vector<std::unique_ptr<Experiment>> experiments;
  experiments.push_back(make_three_regimes_experiment());
  experiments.push_back(make_sigmoid_bound_experiment());
  experiments.push_back(make_relu_init_experiment());
  experiments.push_back(make_lstm_cell_path_experiment());
  experiments.push_back(make_residual_depth_experiment());
  experiments.push_back(make_normalization_experiment());
  experiments.push_back(make_clipping_experiment());
  experiments.push_back(make_tbptt_window_experiment());
  experiments.push_back(make_rnn_horizon_experiment());
  experiments.push_back(make_dynamical_isometry_experiment());
  experiments.push_back(make_edge_of_chaos_experiment());
  experiments.push_back(make_diagnosis_experiment());
  return experiments;
}

std::vector<std::string> experiment_names() {
  std::vector<std::string> names;
  for (const std::unique_ptr<Experiment>& experiment : make_experiments()) {
    names.push_back(experiment->name());
  }
  return names;
}

std::unique_ptr<Experiment> make_experiment(std::string_view name) {
  for (std::unique_ptr<Experiment>& experiment : make_experiments()) {
    if (experiment->name() == name) return std::move(experiment);
  }
  throw_bad_input("unknown experiment '{}'; valid names: {}", name,
                  fmt::join(experiment_names(), ", "));
}

}  // namespace gradscope
