// gradscope grad: one forward/backward on a given batch with given weights, for any model, so
// that anyone can check gradscope against PyTorch or the reverse. Weights, data and gradients
// are safetensors files with PyTorch's names and layouts (README, docs/grad.md).
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "gradscope/core/error.hpp"
#include "gradscope/core/norms.hpp"
#include "gradscope/io/checkpoint.hpp"
#include "gradscope/nn/mse_loss.hpp"
#include "gradscope/probe/probe_once.hpp"
#include "gradscope/probe/probe_sequence.hpp"
#include "model_options.hpp"

namespace gradscope::cli {

namespace {

struct GradOptions {
  ModelOptions model;
  std::string weights;
  std::string data;
  std::string out;
  bool json = false;
};

// Dimension `d` of a tensor that must exist with `rank` dimensions.
Index dimension(const Safetensors& file, const std::string& name, std::size_t rank, std::size_t d) {
  const std::vector<std::int64_t>& shape = file.shape(name);
  if (shape.size() != rank) {
    throw_bad_input("{}: tensor '{}' has {} dimensions, expected {}", file.source(), name,
                    shape.size(), rank);
  }
  return static_cast<Index>(shape[d]);
}

bool any_double(const Safetensors& file) {
  for (const std::string& name : file.names()) {
    if (file.dtype(name) == SafetensorsDtype::kF64) return true;
  }
  return false;
}

// y (batch, outputs) as gradscope's (outputs, batch) targets.
template <typename Scalar>
Matrix<Scalar> targets(const Safetensors& data, Index batch, Index outputs) {
  if (!data.has("y")) throw_bad_input("{}: no tensor 'y' (the targets)", data.source());
  Matrix<Scalar> y = data.matrix<Scalar>("y", batch, outputs).transpose();
  if (!all_finite<Scalar>(y)) throw_bad_input("{}: tensor 'y' holds NaN or Inf", data.source());
  return y;
}

template <typename Scalar>
void write_gradients(const GradOptions& options, const std::vector<Param<Scalar>>& params,
                     const Matrix<Scalar>& grad_h, const Matrix<Scalar>* grad_c, double loss) {
  SafetensorsWriter writer;
  add_parameters(writer, params, /*gradients=*/true);
  if (grad_h.cols() == 1) {
    writer.add_vector<Scalar>("grad_h", grad_h);
  } else {
    writer.add_matrix<Scalar>("grad_h", grad_h);
  }
  if (grad_c != nullptr) writer.add_matrix<Scalar>("grad_c", *grad_c);
  writer.set_metadata("loss", fmt::format("{:.17g}", loss));
  writer.set_metadata("tool", std::string("gradscope ") + GRADSCOPE_VERSION);
  writer.write(options.out);
  if (options.json) {
    std::cout << nlohmann::json{{"loss", loss}, {"out", options.out}}.dump() << '\n';
  } else {
    fmt::print("loss {:.10g}; {} parameter gradients and grad_h written to {}\n", loss,
               params.size(), options.out);
  }
}

template <typename Scalar>
int grad_recurrent(const GradOptions& options, const Safetensors& weights,
                   const Safetensors& data) {
  ModelOptions o = options.model;
  Index layers = 0;
  while (weights.has(fmt::format("rnn.weight_ih_l{}", layers))) ++layers;
  if (layers == 0) {
    throw_bad_input(
        "{}: no 'rnn.weight_ih_l0': a recurrent model's weights are named "
        "rnn.weight_ih_l0, rnn.weight_hh_l0, ..., head.weight",
        weights.source());
  }
  const Index hidden = dimension(weights, "rnn.weight_hh_l0", 2, 1);
  const Index gate_rows = dimension(weights, "rnn.weight_ih_l0", 2, 0);
  const Index inputs = dimension(weights, "rnn.weight_ih_l0", 2, 1);
  const Index outputs = dimension(weights, "head.weight", 2, 0);
  o.hidden = hidden;
  o.layers = layers;
  const RecurrentSpec spec = to_recurrent_spec(o, inputs, outputs, HeadPlacement::kLastStep);
  if (gate_rows != gate_count(spec.cell) * hidden) {
    throw_bad_input(
        "{}: rnn.weight_ih_l0 has {} rows, but --model {} with {} hidden units needs "
        "{} (gates x hidden)",
        weights.source(), gate_rows, o.model, hidden, gate_count(spec.cell) * hidden);
  }
  Rng rng(0);  // every parameter is overwritten from the file
  RecurrentModel<Scalar> model(spec, rng);
  load_parameters<Scalar>(weights, model.params(), {});

  if (!data.has("x")) throw_bad_input("{}: no tensor 'x' (the inputs)", data.source());
  SequenceData<Scalar> x = data.sequence_matrix<Scalar>("x");
  if (x.features != inputs) {
    throw_bad_input("{}: x has {} features per step, the weights take {}", data.source(),
                    x.features, inputs);
  }
  if (!all_finite<Scalar>(x.x)) throw_bad_input("{}: tensor 'x' holds NaN or Inf", data.source());
  SequenceBatch<Scalar> batch;
  batch.x = std::move(x.x);
  batch.steps = x.steps;
  batch.targets.values = targets<Scalar>(data, x.batch, outputs);

  const SequenceProbeResult result = probe_sequence<Scalar>(model, batch, MseLoss<Scalar>());
  Matrix<Scalar> grad_h(layers, x.steps);
  Matrix<Scalar> grad_c(layers, x.steps);
  for (Index k = 0; k < layers; ++k) {
    for (Index t = 0; t < x.steps; ++t) {
      const TimeStepRecord& r = result.layers[static_cast<std::size_t>(k)];
      grad_h(k, t) = static_cast<Scalar>(r.grad_norm[static_cast<std::size_t>(t)]);
      if (!r.cell_grad_norm.empty()) {
        grad_c(k, t) = static_cast<Scalar>(r.cell_grad_norm[static_cast<std::size_t>(t)]);
      }
    }
  }
  const bool lstm = spec.cell == CellKind::kLstm;
  write_gradients<Scalar>(options, model.params(), grad_h, lstm ? &grad_c : nullptr, result.loss);
  return kExitOk;
}

template <typename Scalar>
int grad_mlp(const GradOptions& options, const Safetensors& weights, const Safetensors& data) {
  ModelOptions o = options.model;
  if (!data.has("x")) throw_bad_input("{}: no tensor 'x' (the inputs)", data.source());
  const Index batch = dimension(data, "x", 2, 0);
  const Index inputs = dimension(data, "x", 2, 1);
  const Index outputs = dimension(data, "y", 2, 1);
  // A plain MLP's layout comes from its weights: "0.weight", "2.weight", ... (nn.Sequential
  // positions counting the activations). Residual and normalised MLPs take --depth and --width.
  if (!o.residual && o.norm == "none") {
    Index depth = 0;
    while (weights.has(fmt::format("{}.weight", 2 * depth))) ++depth;
    if (depth == 0) {
      throw_bad_input(
          "{}: no '0.weight': an MLP's weights are named 0.weight, 2.weight, ... as "
          "in an nn.Sequential of Linear and activation modules",
          weights.source());
    }
    o.depth = depth;
    o.width = depth > 1 ? dimension(weights, "0.weight", 2, 0) : 1;
    o.no_bias = !weights.has("0.bias");
  }
  MlpSpec spec = to_mlp_spec(o, inputs, outputs);
  Rng rng(0);  // every parameter is overwritten from the file
  Network<Scalar> network(build_mlp<Scalar>(spec, rng));
  load_parameters<Scalar>(weights, network.params(), network.body().buffers());

  Matrix<Scalar> x = data.matrix<Scalar>("x", batch, inputs).transpose();
  if (!all_finite<Scalar>(x)) throw_bad_input("{}: tensor 'x' holds NaN or Inf", data.source());
  Targets<Scalar> t;
  t.values = targets<Scalar>(data, batch, outputs);
  const ProbeResult result = probe_once<Scalar>(network, x, t, MseLoss<Scalar>());
  Matrix<Scalar> grad_h(static_cast<Index>(result.layers.size()), 1);
  for (std::size_t l = 0; l < result.layers.size(); ++l) {
    grad_h(static_cast<Index>(l), 0) = static_cast<Scalar>(result.layers[l].grad_norm);
  }
  write_gradients<Scalar>(options, network.params(), grad_h, nullptr, result.loss);
  return kExitOk;
}

int run_grad(const GradOptions& options) {
  const Safetensors weights = read_safetensors(options.weights);
  const Safetensors data = read_safetensors(options.data);
  // float64 weights mean a float64 computation (or --dtype float64).
  const bool use_double = any_double(weights) || is_double(options.model);
  if (is_recurrent(options.model)) {
    return use_double ? grad_recurrent<double>(options, weights, data)
                      : grad_recurrent<float>(options, weights, data);
  }
  return use_double ? grad_mlp<double>(options, weights, data)
                    : grad_mlp<float>(options, weights, data);
}

}  // namespace

void register_grad_command(CLI::App& root, CommandTable& commands) {
  auto options = std::make_shared<GradOptions>();
  CLI::App* command = root.add_subcommand(
      "grad",
      "One forward/backward with given weights on a given batch: every gradient, to "
      "compare with PyTorch");
  (void)add_model_options(*command, options->model);
  command
      ->add_option("--weights", options->weights,
                   "safetensors file of the model's parameters (PyTorch names)")
      ->required();
  command
      ->add_option("--data", options->data,
                   "safetensors file with x (batch, [seq,] inputs) and y (batch, outputs)")
      ->required();
  command->add_option("--out", options->out, "safetensors file to write the gradients to")
      ->required();
  command->add_flag("--json", options->json, "Print the loss and output path as JSON");
  commands[command] = [options] { return run_grad(*options); };
}

}  // namespace gradscope::cli
