// The model and data flags every command shares (DESIGN.md), and their translation into specs.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "gradscope/model/mlp.hpp"
#include "gradscope/nn/network.hpp"
#include "gradscope/tasks/task.hpp"

namespace gradscope::cli {

struct ModelOptions {
  std::string model = "mlp";
  long depth = 20;
  long width = 256;
  std::string act = "tanh";
  double negative_slope = 0.01;
  std::optional<std::string> init;  // unset: gaussian if --sigma-w2/--sigma-b2, else xavier
  std::optional<double> gain;
  std::string fan_mode = "fan_in";
  std::optional<double> sigma_w2;
  std::optional<double> sigma_b2;
  std::optional<double> rho;
  bool no_bias = false;
  long inputs = 0;   // 0: from the task
  long outputs = 0;  // 0: from the task
  long batch = 128;
  std::string dtype = "float32";
  std::uint64_t seed = 0;
  std::string task = "teacher";
  std::string data_dir;  // Fashion-MNIST directory; empty: Debian's package location
};

void add_model_options(CLI::App& command, ModelOptions& options);
void add_task_options(CLI::App& command, ModelOptions& options);

// The MLP for these flags; inputs/outputs left at 0 take the task's sizes.
// Bad-input Error naming the flag when something is out of range.
MlpSpec to_mlp_spec(const ModelOptions& options, Index task_inputs, Index task_outputs);

// The task's input and output sizes, known from the flags alone (nothing is loaded).
struct TaskShape {
  Index inputs;
  Index outputs;
};
TaskShape task_shape(const ModelOptions& options);

// Refuses (bad input) a model and task whose training step would not fit in the available
// memory; checked before anything large is allocated.
void check_memory(const MlpSpec& spec, const ModelOptions& options);

bool is_double(const ModelOptions& options);

// The task named by --task, with the sizes of task_shape().
template <typename Scalar>
std::unique_ptr<Task<Scalar>> make_task(const ModelOptions& options);

// What probe and train start from: the spec, the task and the initialised network, in the order
// that refuses bad flags and sizes before anything large is loaded or allocated.
template <typename Scalar>
struct ModelAndTask {
  MlpSpec spec;
  std::unique_ptr<Task<Scalar>> task;
  Network<Scalar> network;
};
template <typename Scalar>
ModelAndTask<Scalar> make_model_and_task(const ModelOptions& options);

}  // namespace gradscope::cli
