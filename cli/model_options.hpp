// The model and data flags every command shares (DESIGN.md), and their translation into specs,
// tasks and initialised models. Commands parse and print; what a flag means is decided here and
// in the library.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "gradscope/model/mlp.hpp"
#include "gradscope/model/recurrent_model.hpp"
#include "gradscope/nn/network.hpp"
#include "gradscope/tasks/sequence_task.hpp"
#include "gradscope/tasks/task.hpp"

namespace gradscope::cli {

struct ModelOptions {
  std::string model = "mlp";  // mlp | rnn | lstm | gru
  // Feed-forward
  long depth = 20;
  long width = 256;
  std::string act = "tanh";  // also the RNN's nonlinearity (tanh or relu)
  double negative_slope = 0.01;
  std::optional<std::string> init;  // unset: gaussian if --sigma-w2/--sigma-b2, else xavier
  std::optional<double> gain;
  std::string fan_mode = "fan_in";
  std::optional<double> sigma_w2;
  std::optional<double> sigma_b2;
  std::optional<double> rho;
  bool no_bias = false;
  bool residual = false;
  long block_depth = 1;
  std::string alpha = "1";  // a number, or "rezero"
  std::string residual_variant = "pre";
  std::string norm = "none";
  std::string norm_position = "post";
  // Recurrent
  long hidden = 64;
  long layers = 1;
  long seq = 100;  // sequence length T (copy memory: the delay)
  long tbptt = 0;  // truncation window K; 0 = full BPTT
  std::optional<double> forget_bias;
  // Data
  long inputs = 0;   // 0: from the task
  long outputs = 0;  // 0: from the task
  long batch = 128;
  std::string dtype = "float32";
  std::uint64_t seed = 0;
  std::optional<std::string> task;  // unset: teacher (mlp) or adding (recurrent models)
  std::string data_dir;             // Fashion-MNIST directory; empty: Debian's package location
};

// Options parsed by add_model_options that commands sometimes need to inspect.
struct ModelOptionHandles {
  CLI::Option* depth = nullptr;
  CLI::Option* seq = nullptr;
  CLI::Option* batch = nullptr;
};

ModelOptionHandles add_model_options(CLI::App& command, ModelOptions& options);
void add_task_options(CLI::App& command, ModelOptions& options);

bool is_recurrent(const ModelOptions& options);
bool is_double(const ModelOptions& options);
std::string task_name(const ModelOptions& options);

// What probe and train start from: the spec, the task and the initialised model, made in the
// order that refuses bad flags and sizes before anything large is loaded or allocated.
template <typename Scalar>
struct FeedForwardSetup {
  MlpSpec spec;
  std::unique_ptr<Task<Scalar>> task;
  Network<Scalar> network;
};
template <typename Scalar>
FeedForwardSetup<Scalar> make_feed_forward(const ModelOptions& options);

template <typename Scalar>
struct RecurrentSetup {
  RecurrentSpec spec;
  std::unique_ptr<SequenceTask<Scalar>> task;
  std::unique_ptr<RecurrentModel<Scalar>> model;
};
template <typename Scalar>
RecurrentSetup<Scalar> make_recurrent(const ModelOptions& options);

// The MLP for these flags with the given task sizes (used where no task is built).
MlpSpec to_mlp_spec(const ModelOptions& options, Index inputs, Index outputs);
// The recurrent model for these flags with the given task sizes.
RecurrentSpec to_recurrent_spec(const ModelOptions& options, Index inputs, Index outputs,
                                HeadPlacement head);
// Refuses (bad input) an MLP whose training step would not fit in the available memory.
void check_memory(const MlpSpec& spec, const ModelOptions& options);

// One line describing the model, for table headers.
std::string describe_model(const ModelOptions& options);

}  // namespace gradscope::cli
