#include "model_options.hpp"

#include <fmt/format.h>

#include "gradscope/core/error.hpp"
#include "gradscope/core/memory.hpp"
#include "gradscope/core/random.hpp"
#include "gradscope/tasks/adding_task.hpp"
#include "gradscope/tasks/copy_task.hpp"
#include "gradscope/tasks/fashion_mnist.hpp"
#include "gradscope/tasks/fashion_mnist_sequence.hpp"
#include "gradscope/tasks/teacher_task.hpp"
#include "gradscope/tasks/temporal_order_task.hpp"

namespace gradscope::cli {

namespace {

const std::vector<std::string> kFlatTasks = {"teacher", "fashion-mnist"};
const std::vector<std::string> kSequenceTasks = {
    "adding",         "adding-first-half",  "copy",
    "temporal-order", "fashion-mnist-rows", "fashion-mnist-pixels"};

bool is_sequence_task(const std::string& name) {
  return std::find(kSequenceTasks.begin(), kSequenceTasks.end(), name) != kSequenceTasks.end();
}

std::string data_directory(const ModelOptions& o) {
  return o.data_dir.empty() ? std::string(kFashionMnistDefaultDir) : o.data_dir;
}

// Flat tasks: their sizes, known from the flags alone (nothing is loaded).
struct TaskShape {
  Index inputs;
  Index outputs;
};

TaskShape flat_task_shape(const ModelOptions& o) {
  if (task_name(o) == "fashion-mnist") {
    if ((o.inputs > 0 && o.inputs != 784) || (o.outputs > 0 && o.outputs != 10)) {
      throw_bad_input(
          "--task fashion-mnist has 784 inputs and 10 outputs; drop --inputs/--outputs");
    }
    return {784, 10};
  }
  // Teacher inputs default to --width, so that the first layer is square like the others.
  return {o.inputs > 0 ? o.inputs : o.width, o.outputs > 0 ? o.outputs : 10};
}

template <typename Scalar>
std::unique_ptr<Task<Scalar>> make_flat_task(const ModelOptions& o, const TaskShape& shape) {
  const std::uint64_t seed = derive_seed(o.seed, kDataStream);
  if (task_name(o) == "fashion-mnist") {
    return std::make_unique<FashionMnistTask<Scalar>>(seed, data_directory(o));
  }
  return std::make_unique<TeacherTask<Scalar>>(shape.inputs, shape.outputs, seed);
}

// Sequence tasks: their sizes from the flags alone, so that a model too big for memory is refused
// before the task draws its test set (checked against the task once it exists).
struct SequenceShape {
  Index inputs;
  Index outputs;
  Index steps;
};

SequenceShape sequence_shape(const ModelOptions& o) {
  const std::string name = task_name(o);
  if (name == "copy") return {10, 9, o.seq + 20};  // Arjovsky's 10 symbols from 8 categories
  if (name == "temporal-order") return {6, 4, o.seq};
  if (name == "fashion-mnist-rows") return {28, 10, 28};
  if (name == "fashion-mnist-pixels") return {1, 10, 784};
  return {2, 1, o.seq};  // adding, adding-first-half
}

template <typename Scalar>
std::unique_ptr<SequenceTask<Scalar>> make_sequence_task(const ModelOptions& o) {
  const std::uint64_t seed = derive_seed(o.seed, kDataStream);
  const std::string name = task_name(o);
  if (name == "adding") return std::make_unique<AddingTask<Scalar>>(o.seq, seed);
  if (name == "adding-first-half") {
    return std::make_unique<AddingTask<Scalar>>(o.seq, seed, 1000, AddingLayout::kFirstHalf);
  }
  if (name == "copy") return std::make_unique<CopyTask<Scalar>>(o.seq, seed);
  if (name == "temporal-order") return std::make_unique<TemporalOrderTask<Scalar>>(o.seq, seed);
  const FashionMnistSequence order =
      name == "fashion-mnist-rows" ? FashionMnistSequence::kRows : FashionMnistSequence::kPixels;
  return std::make_unique<FashionMnistSequenceTask<Scalar>>(order, seed, data_directory(o));
}

// Runs `parse` and prefixes a bad-input error with the flag it came from.
template <typename Parse>
auto for_flag(const char* flag, Parse parse) {
  try {
    return parse();
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kBadInput) throw;
    throw Error(ErrorKind::kBadInput, fmt::format("{}: {}", flag, e.what()));
  }
}

void check_task_fits_model(const ModelOptions& o) {
  const std::string name = task_name(o);
  if (is_recurrent(o) && !is_sequence_task(name)) {
    throw_bad_input(
        "--task {} is not a sequence task; --model {} takes adding, copy, "
        "temporal-order, fashion-mnist-rows or fashion-mnist-pixels",
        name, o.model);
  }
  if (!is_recurrent(o) && is_sequence_task(name)) {
    throw_bad_input("--task {} is a sequence task: use --model rnn, lstm or gru", name);
  }
}

}  // namespace

ModelOptionHandles add_model_options(CLI::App& command, ModelOptions& o) {
  ModelOptionHandles handles;
  command.add_option("--model", o.model, "mlp, or a recurrent model: rnn, lstm, gru")
      ->check(CLI::IsMember({"mlp", "rnn", "lstm", "gru"}))
      ->capture_default_str();
  handles.depth =
      command.add_option("--depth", o.depth, "MLP layers (depth - 1 hidden layers + linear head)")
          ->check(CLI::Range(1L, 1000000L))
          ->capture_default_str();
  command.add_option("--width", o.width, "MLP units per hidden layer")
      ->check(CLI::Range(1L, 1000000000L))
      ->capture_default_str();
  command
      .add_option("--act", o.act,
                  "Activation: identity, sigmoid, tanh, relu, leaky_relu, gelu (rnn: tanh, relu)")
      ->check(CLI::IsMember(
          {"identity", "linear", "sigmoid", "tanh", "relu", "leaky_relu", "leaky-relu", "gelu"}))
      ->capture_default_str();
  command.add_option("--negative-slope", o.negative_slope, "leaky_relu slope")
      ->capture_default_str();
  command.add_option(
      "--init", o.init,
      "MLP: xavier[_uniform|_normal], he[_uniform|_normal], orthogonal, identity, gaussian "
      "(default gaussian when --sigma-w2/--sigma-b2 are given, else xavier); recurrent W_hh: "
      "default, orthogonal, identity");
  command.add_option("--gain", o.gain, "Init gain (default: 1, or calculate_gain(act) for he)");
  command.add_option("--fan-mode", o.fan_mode, "He init fan: fan_in or fan_out")
      ->check(CLI::IsMember({"fan_in", "fan_out"}))
      ->capture_default_str();
  command
      .add_option("--sigma-w2", o.sigma_w2,
                  "Gaussian init: W ~ N(0, sigma_w2 / fan_in); orthogonal: gain sqrt(sigma_w2)")
      ->check(CLI::NonNegativeNumber);
  command.add_option("--sigma-b2", o.sigma_b2, "Gaussian and orthogonal init: b ~ N(0, sigma_b2)")
      ->check(CLI::NonNegativeNumber);
  command
      .add_option("--rho", o.rho,
                  "Scale every square MLP weight (recurrent: every W_hh gate block) to this "
                  "spectral radius")
      ->check(CLI::PositiveNumber);
  command.add_flag("--no-bias", o.no_bias, "Dense layers without biases");
  command.add_flag("--residual", o.residual, "MLP hidden layers as residual blocks h + alpha F(h)");
  command
      .add_option("--block-depth", o.block_depth, "Dense + activation pairs per residual branch")
      ->check(CLI::Range(1L, 1000L))
      ->capture_default_str();
  command
      .add_option("--alpha", o.alpha, "Residual branch scale: a number, or rezero (learnable, 0)")
      ->capture_default_str();
  command
      .add_option("--residual-variant", o.residual_variant,
                  "pre (identity skip: h + alpha F(h)) or post (phi(h + alpha F(h)))")
      ->check(CLI::IsMember({"pre", "post"}))
      ->capture_default_str();
  command.add_option("--norm", o.norm, "Normalisation: none, batch, layer, weight")
      ->check(CLI::IsMember({"none", "batch", "layer", "weight"}))
      ->capture_default_str();
  command
      .add_option("--norm-position", o.norm_position,
                  "post (Dense, norm, act) or pre (norm, Dense, act)")
      ->check(CLI::IsMember({"pre", "post"}))
      ->capture_default_str();
  command.add_option("--hidden", o.hidden, "Recurrent hidden units")
      ->check(CLI::Range(1L, 1000000L))
      ->capture_default_str();
  command.add_option("--layers", o.layers, "Recurrent layers")
      ->check(CLI::Range(1L, 1000L))
      ->capture_default_str();
  handles.seq = command.add_option("--seq", o.seq, "Sequence length T (copy: the delay)")
                    ->check(CLI::Range(1L, 100000000L))
                    ->capture_default_str();
  command.add_option("--tbptt", o.tbptt, "Truncated BPTT window K (0: full BPTT)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command.add_option("--forget-bias", o.forget_bias, "LSTM forget gate bias (e.g. 1.0)");
  command.add_option("--inputs", o.inputs, "Input features (default: the task's)")
      ->check(CLI::Range(1L, 1000000000L));
  command.add_option("--outputs", o.outputs, "Output units (default: the task's)")
      ->check(CLI::Range(1L, 1000000000L));
  handles.batch = command.add_option("--batch", o.batch, "Batch size")
                      ->check(CLI::Range(1L, 1000000000L))
                      ->capture_default_str();
  command.add_option("--dtype", o.dtype, "float32 or float64")
      ->check(CLI::IsMember({"float32", "float64"}))
      ->capture_default_str();
  command.add_option("--seed", o.seed, "Random seed (weights, data)")->capture_default_str();
  return handles;
}

void add_task_options(CLI::App& command, ModelOptions& o) {
  command
      .add_option("--task", o.task,
                  "mlp: teacher (synthetic regression, default), fashion-mnist; recurrent: adding "
                  "(default), adding-first-half, copy, temporal-order, fashion-mnist-rows, "
                  "fashion-mnist-pixels")
      ->check(CLI::IsMember({"teacher", "fashion-mnist", "adding", "adding-first-half", "copy",
                             "temporal-order", "fashion-mnist-rows", "fashion-mnist-pixels"}));
  command.add_option("--data-dir", o.data_dir,
                     "Fashion-MNIST IDX directory (default /usr/share/datasets/fashion-mnist)");
}

bool is_recurrent(const ModelOptions& o) { return o.model != "mlp"; }
bool is_double(const ModelOptions& o) { return o.dtype == "float64"; }

std::string task_name(const ModelOptions& o) {
  return o.task.value_or(is_recurrent(o) ? "adding" : "teacher");
}

MlpSpec to_mlp_spec(const ModelOptions& o, Index inputs, Index outputs) {
  MlpSpec spec;
  spec.depth = o.depth;
  spec.width = o.width;
  spec.inputs = inputs;
  spec.outputs = outputs;
  spec.activation = parse_activation(o.act);
  spec.negative_slope = o.negative_slope;
  spec.bias = !o.no_bias;
  const bool variances_given = o.sigma_w2 || o.sigma_b2;
  const std::string init = o.init.value_or(variances_given ? "gaussian" : "xavier");
  spec.init.scheme = for_flag("--init", [&] { return parse_init(init); });
  spec.init.fan_mode = parse_fan_mode(o.fan_mode);
  spec.init.gain = o.gain;
  spec.init.sigma_w2 = o.sigma_w2.value_or(1.0);
  spec.init.sigma_b2 = o.sigma_b2.value_or(0.0);
  spec.rho = o.rho;
  if (variances_given && spec.init.scheme != InitScheme::kGaussian &&
      spec.init.scheme != InitScheme::kOrthogonal) {
    throw_bad_input("--sigma-w2/--sigma-b2 apply to --init gaussian or orthogonal, not --init {}",
                    init);
  }
  if (o.sigma_w2 && o.gain && spec.init.scheme == InitScheme::kOrthogonal) {
    throw_bad_input("--init orthogonal takes --gain or --sigma-w2 (gain sqrt(sigma_w2)), not both");
  }
  spec.norm = parse_norm(o.norm);
  spec.norm_position = parse_norm_position(o.norm_position);
  spec.residual = o.residual;
  spec.block_depth = o.block_depth;
  spec.residual_variant = o.residual_variant == "post" ? ResidualVariant::kPostActivation
                                                       : ResidualVariant::kPreActivation;
  if (o.alpha == "rezero") {
    spec.rezero = true;
  } else {
    try {
      std::size_t used = 0;
      spec.alpha = std::stod(o.alpha, &used);
      if (used != o.alpha.size()) throw std::invalid_argument(o.alpha);
    } catch (const std::exception&) {
      throw_bad_input("--alpha: expected a number or rezero, got '{}'", o.alpha);
    }
  }
  validate(spec);
  return spec;
}

RecurrentSpec to_recurrent_spec(const ModelOptions& o, Index inputs, Index outputs,
                                HeadPlacement head) {
  RecurrentSpec spec;
  if (o.model == "rnn") {
    const ActivationKind act = parse_activation(o.act);
    if (act != ActivationKind::kTanh && act != ActivationKind::kRelu) {
      throw_bad_input("--act {}: a vanilla RNN's nonlinearity is tanh or relu", o.act);
    }
    spec.cell = act == ActivationKind::kRelu ? CellKind::kRnnRelu : CellKind::kRnnTanh;
  } else {
    spec.cell = parse_cell_kind(o.model);
  }
  spec.inputs = inputs;
  spec.outputs = outputs;
  spec.hidden = o.hidden;
  spec.layers = o.layers;
  spec.head = head;
  spec.hidden_init =
      for_flag("--init", [&] { return parse_hidden_init(o.init.value_or("default")); });
  spec.rho = o.rho;
  spec.forget_bias = o.forget_bias;
  spec.tbptt = o.tbptt;
  validate(spec);
  return spec;
}

void check_memory(const MlpSpec& spec, const ModelOptions& o) {
  const std::size_t scalar_bytes = is_double(o) ? sizeof(double) : sizeof(float);
  // The teacher keeps a held-out set of 2048 samples in memory (Fashion-MNIST's is small).
  const std::uint64_t test_set_bytes =
      task_name(o) == "teacher"
          ? static_cast<std::uint64_t>(spec.inputs + spec.outputs) * 2048 * scalar_bytes
          : 0;
  check_fits_in_memory(estimate_training_bytes(spec, o.batch, scalar_bytes) + test_set_bytes,
                       fmt::format("--depth {} --width {} --batch {} ({})", spec.depth, spec.width,
                                   o.batch, o.dtype));
}

template <typename Scalar>
FeedForwardSetup<Scalar> make_feed_forward(const ModelOptions& o) {
  check_task_fits_model(o);
  const TaskShape shape = flat_task_shape(o);
  FeedForwardSetup<Scalar> setup;
  setup.spec = to_mlp_spec(o, shape.inputs, shape.outputs);
  check_memory(setup.spec, o);
  setup.task = make_flat_task<Scalar>(o, shape);
  Rng rng(derive_seed(o.seed, kModelStream));
  setup.network = Network<Scalar>(build_mlp<Scalar>(setup.spec, rng));
  return setup;
}

template <typename Scalar>
RecurrentSetup<Scalar> make_recurrent(const ModelOptions& o) {
  check_task_fits_model(o);
  if (o.inputs > 0 || o.outputs > 0) {
    throw_bad_input("--inputs/--outputs do not apply to recurrent models: the task sets them");
  }
  const std::string name = task_name(o);
  const SequenceShape shape = sequence_shape(o);
  const bool fixed_length = name == "fashion-mnist-rows" || name == "fashion-mnist-pixels";
  if (fixed_length && o.seq != shape.steps && o.seq != 100) {
    throw_bad_input("--task {} has {} steps; drop --seq", name, shape.steps);
  }
  const std::size_t scalar_bytes = is_double(o) ? sizeof(double) : sizeof(float);
  RecurrentSetup<Scalar> setup;
  const HeadPlacement head = name == "copy" ? HeadPlacement::kEveryStep : HeadPlacement::kLastStep;
  setup.spec = to_recurrent_spec(o, shape.inputs, shape.outputs, head);
  check_fits_in_memory(estimate_training_bytes(setup.spec, shape.steps, o.batch, scalar_bytes),
                       fmt::format("--model {} --hidden {} --layers {} --seq {} --batch {} ({})",
                                   o.model, o.hidden, o.layers, shape.steps, o.batch, o.dtype));
  setup.task = make_sequence_task<Scalar>(o);
  GRADSCOPE_CHECK(setup.task->input_size() == shape.inputs &&
                      setup.task->output_size() == shape.outputs &&
                      setup.task->sequence_length() == shape.steps &&
                      (setup.task->target_timing() == TargetTiming::kEveryStep) ==
                          (head == HeadPlacement::kEveryStep),
                  "task {} does not have the shape the CLI expects", name);
  Rng rng(derive_seed(o.seed, kModelStream));
  setup.model = std::make_unique<RecurrentModel<Scalar>>(setup.spec, rng);
  return setup;
}

std::string describe_model(const ModelOptions& o) {
  if (is_recurrent(o)) {
    return fmt::format("{}{} hidden {} layers {}, task {} (T = {}), batch {}, {}, seed {}", o.model,
                       o.model == "rnn" ? " (" + o.act + ")" : "", o.hidden, o.layers, task_name(o),
                       o.seq, o.batch, o.dtype, o.seed);
  }
  std::string extras;
  if (o.residual) extras += fmt::format(" residual (alpha {})", o.alpha);
  if (o.norm != "none") extras += fmt::format(" {}-norm ({})", o.norm, o.norm_position);
  return fmt::format("mlp depth {} width {} act {}{}, task {}, batch {}, {}, seed {}", o.depth,
                     o.width, o.act, extras, task_name(o), o.batch, o.dtype, o.seed);
}

template FeedForwardSetup<float> make_feed_forward<float>(const ModelOptions&);
template FeedForwardSetup<double> make_feed_forward<double>(const ModelOptions&);
template RecurrentSetup<float> make_recurrent<float>(const ModelOptions&);
template RecurrentSetup<double> make_recurrent<double>(const ModelOptions&);

}  // namespace gradscope::cli
