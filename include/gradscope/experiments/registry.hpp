// Every experiment gradscope knows, in one explicit list (src/experiments/registry.cpp): no
// static self-registration, so the list is read in one place and needs no linker tricks.
// Adding an experiment: declare its factory here and add one line to make_experiments().
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gradscope/experiments/experiment.hpp"

namespace gradscope {

std::unique_ptr<Experiment> make_three_regimes_experiment();
std::unique_ptr<Experiment> make_sigmoid_bound_experiment();
std::unique_ptr<Experiment> make_relu_init_experiment();
std::unique_ptr<Experiment> make_residual_depth_experiment();
std::unique_ptr<Experiment> make_normalization_experiment();
std::unique_ptr<Experiment> make_lstm_cell_path_experiment();
std::unique_ptr<Experiment> make_clipping_experiment();
std::unique_ptr<Experiment> make_tbptt_window_experiment();
std::unique_ptr<Experiment> make_rnn_horizon_experiment();
std::unique_ptr<Experiment> make_dynamical_isometry_experiment();
std::unique_ptr<Experiment> make_edge_of_chaos_experiment();
std::unique_ptr<Experiment> make_diagnosis_experiment();

// In the order `experiment all` runs them and the report shows them.
std::vector<std::unique_ptr<Experiment>> make_experiments();
std::vector<std::string> experiment_names();
// Bad-input Error naming the unknown name and listing the valid ones, in one line.
std::unique_ptr<Experiment> make_experiment(std::string_view name);

}  // namespace gradscope
