#include "model_options.hpp"

#include <fmt/format.h>

#include "gradscope/core/error.hpp"
#include "gradscope/core/memory.hpp"
#include "gradscope/core/random.hpp"
#include "gradscope/tasks/fashion_mnist.hpp"
#include "gradscope/tasks/teacher_task.hpp"

namespace gradscope::cli {

void add_model_options(CLI::App& command, ModelOptions& o) {
  command.add_option("--model", o.model, "Model kind")
      ->check(CLI::IsMember({"mlp"}))
      ->capture_default_str();
  command.add_option("--depth", o.depth, "Weight layers (depth - 1 hidden layers + linear head)")
      ->check(CLI::Range(1L, 1000000L))
      ->capture_default_str();
  command.add_option("--width", o.width, "Units per hidden layer")
      ->check(CLI::Range(1L, 1000000000L))
      ->capture_default_str();
  command.add_option("--act", o.act, "Activation: identity, sigmoid, tanh, relu, leaky_relu, gelu")
      ->check(CLI::IsMember(
          {"identity", "linear", "sigmoid", "tanh", "relu", "leaky_relu", "leaky-relu", "gelu"}))
      ->capture_default_str();
  command.add_option("--negative-slope", o.negative_slope, "leaky_relu slope")
      ->capture_default_str();
  command
      .add_option("--init", o.init,
                  "Init: xavier[_uniform|_normal], he[_uniform|_normal], orthogonal, identity, "
                  "gaussian (default gaussian when --sigma-w2/--sigma-b2 are given)")
      ->check(CLI::IsMember({"xavier", "xavier_uniform", "xavier_normal", "glorot",
                             "glorot_uniform", "glorot_normal", "he", "he_uniform", "he_normal",
                             "kaiming", "kaiming_uniform", "kaiming_normal", "orthogonal",
                             "identity", "gaussian"}));
  command.add_option("--gain", o.gain, "Init gain (default: 1, or calculate_gain(act) for he)");
  command.add_option("--fan-mode", o.fan_mode, "He init fan: fan_in or fan_out")
      ->check(CLI::IsMember({"fan_in", "fan_out"}))
      ->capture_default_str();
  command.add_option("--sigma-w2", o.sigma_w2, "Gaussian init: W ~ N(0, sigma_w2 / fan_in)")
      ->check(CLI::NonNegativeNumber);
  command.add_option("--sigma-b2", o.sigma_b2, "Gaussian init: b ~ N(0, sigma_b2)")
      ->check(CLI::NonNegativeNumber);
  command.add_option("--rho", o.rho, "Scale every square weight matrix to this spectral radius")
      ->check(CLI::PositiveNumber);
  command.add_flag("--no-bias", o.no_bias, "Dense layers without biases");
  command.add_option("--inputs", o.inputs, "Input features (default: the task's)")
      ->check(CLI::Range(1L, 1000000000L));
  command.add_option("--outputs", o.outputs, "Output units (default: the task's)")
      ->check(CLI::Range(1L, 1000000000L));
  command.add_option("--batch", o.batch, "Batch size")
      ->check(CLI::Range(1L, 1000000000L))
      ->capture_default_str();
  command.add_option("--dtype", o.dtype, "float32 or float64")
      ->check(CLI::IsMember({"float32", "float64"}))
      ->capture_default_str();
  command.add_option("--seed", o.seed, "Random seed (weights, data)")->capture_default_str();
}

void add_task_options(CLI::App& command, ModelOptions& o) {
  command.add_option("--task", o.task, "teacher (synthetic regression) or fashion-mnist")
      ->check(CLI::IsMember({"teacher", "fashion-mnist"}))
      ->capture_default_str();
  command.add_option("--data-dir", o.data_dir,
                     "Fashion-MNIST IDX directory (default /usr/share/datasets/fashion-mnist)");
}

MlpSpec to_mlp_spec(const ModelOptions& o, Index task_inputs, Index task_outputs) {
  MlpSpec spec;
  spec.depth = o.depth;
  spec.width = o.width;
  spec.inputs = o.inputs > 0 ? o.inputs : task_inputs;
  spec.outputs = o.outputs > 0 ? o.outputs : task_outputs;
  spec.activation = parse_activation(o.act);
  spec.negative_slope = o.negative_slope;
  spec.bias = !o.no_bias;
  const bool variances_given = o.sigma_w2 || o.sigma_b2;
  const std::string init = o.init.value_or(variances_given ? "gaussian" : "xavier");
  spec.init.scheme = parse_init(init);
  spec.init.fan_mode = parse_fan_mode(o.fan_mode);
  spec.init.gain = o.gain;
  spec.init.sigma_w2 = o.sigma_w2.value_or(1.0);
  spec.init.sigma_b2 = o.sigma_b2.value_or(0.0);
  spec.rho = o.rho;
  if (variances_given && spec.init.scheme != InitScheme::kGaussian) {
    throw_bad_input("--sigma-w2/--sigma-b2 apply to --init gaussian, not --init {}", init);
  }
  validate(spec);
  return spec;
}

TaskShape task_shape(const ModelOptions& o) {
  if (o.task == "fashion-mnist") {
    if ((o.inputs > 0 && o.inputs != 784) || (o.outputs > 0 && o.outputs != 10)) {
      throw_bad_input(
          "--task fashion-mnist has 784 inputs and 10 outputs; drop --inputs/--outputs");
    }
    return {784, 10};
  }
  // Teacher inputs default to --width, so that the first layer is square like the others.
  return {o.inputs > 0 ? o.inputs : o.width, o.outputs > 0 ? o.outputs : 10};
}

void check_memory(const MlpSpec& spec, const ModelOptions& o) {
  const std::size_t scalar_bytes = is_double(o) ? sizeof(double) : sizeof(float);
  // The teacher keeps a held-out set of 2048 samples in memory (Fashion-MNIST's is small).
  const std::uint64_t test_set_bytes =
      o.task == "teacher"
          ? static_cast<std::uint64_t>(spec.inputs + spec.outputs) * 2048 * scalar_bytes
          : 0;
  check_fits_in_memory(estimate_training_bytes(spec, o.batch, scalar_bytes) + test_set_bytes,
                       fmt::format("--depth {} --width {} --batch {} ({})", spec.depth, spec.width,
                                   o.batch, o.dtype));
}

bool is_double(const ModelOptions& o) { return o.dtype == "float64"; }

template <typename Scalar>
std::unique_ptr<Task<Scalar>> make_task(const ModelOptions& o) {
  const TaskShape shape = task_shape(o);
  if (o.task == "fashion-mnist") {
    return std::make_unique<FashionMnistTask<Scalar>>(
        derive_seed(o.seed, kDataStream),
        o.data_dir.empty() ? std::string(kFashionMnistDefaultDir) : o.data_dir);
  }
  return std::make_unique<TeacherTask<Scalar>>(shape.inputs, shape.outputs,
                                               derive_seed(o.seed, kDataStream));
}

template <typename Scalar>
ModelAndTask<Scalar> make_model_and_task(const ModelOptions& o) {
  const TaskShape shape = task_shape(o);
  ModelAndTask<Scalar> made;
  made.spec = to_mlp_spec(o, shape.inputs, shape.outputs);
  check_memory(made.spec, o);
  made.task = make_task<Scalar>(o);
  Rng rng(derive_seed(o.seed, kModelStream));
  made.network = Network<Scalar>(build_mlp<Scalar>(made.spec, rng));
  return made;
}

template std::unique_ptr<Task<float>> make_task<float>(const ModelOptions&);
template std::unique_ptr<Task<double>> make_task<double>(const ModelOptions&);
template ModelAndTask<float> make_model_and_task<float>(const ModelOptions&);
template ModelAndTask<double> make_model_and_task<double>(const ModelOptions&);

}  // namespace gradscope::cli
