// gradscope probe: one forward/backward at initialisation, the gradient profile layer by layer.
// gradscope probe --regimes: the article's three regimes (rho = 0.9, 1.0, 1.1) side by side.
#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "gradscope/analysis/memory_horizon.hpp"
#include "gradscope/core/random.hpp"
#include "gradscope/experiments/three_regimes.hpp"
#include "gradscope/init/initializer.hpp"
#include "gradscope/nn/network.hpp"
#include "gradscope/probe/probe_once.hpp"
#include "gradscope/probe/probe_sequence.hpp"
#include "gradscope/probe/run_log.hpp"
#include "model_options.hpp"

namespace gradscope::cli {

namespace {

struct ProbeOptions {
  ModelOptions model;
  bool regimes = false;
  bool json = false;
  ModelOptionHandles handles;
};

void print_table(const ProbeResult& result) {
  fmt::print("{:>5}  {:>5}  {:<10}  {:>12}  {:>10}  {:>10}  {:>10}  {:>10}  {:>6}  {:>6}\n",
             "layer", "name", "act", "log10|dL/dh|", "|dL/dh|", "|dL/dW|", "|W|", "rel.init", "sat",
             "dead");
  for (const LayerRecord& r : result.layers) {
    fmt::print(
        "{:>5}  {:>5}  {:<10}  {:>12.3f}  {:>10.3e}  {:>10.3e}  {:>10.3e}  {:>10.3e}  "
        "{:>6.3f}  {:>6.3f}{}\n",
        r.index, r.name, r.activation, std::log10(r.grad_norm), r.grad_norm, r.weight_grad_norm,
        r.weight_norm, r.rel_dist_init, r.saturated, r.dead, r.nonfinite ? "  NON-FINITE" : "");
  }
  fmt::print("ratio_first_last = {:.3e} (log10 {:.2f}); layer 1 is next to the input\n",
             result.ratio_first_last, std::log10(result.ratio_first_last));
}

template <typename Scalar>
int run_probe(const ProbeOptions& options) {
  const ModelOptions& o = options.model;
  FeedForwardSetup<Scalar> made = make_feed_forward<Scalar>(o);
  const MlpSpec& spec = made.spec;
  Network<Scalar>& network = made.network;
  Task<Scalar>& task = *made.task;
  Batch<Scalar> batch;
  task.next_batch(o.batch, batch);
  const std::unique_ptr<Loss<Scalar>> loss = make_loss<Scalar>(task.loss());
  const ProbeResult result = probe_once<Scalar>(network, batch.x, batch.targets, *loss);

  if (options.json) {
    nlohmann::json layers = nlohmann::json::array();
    for (const LayerRecord& r : result.layers) layers.push_back(to_json(r));
    nlohmann::json model = to_json(spec);
    model.update(
        {{"batch", o.batch}, {"dtype", o.dtype}, {"seed", o.seed}, {"task", task_name(o)}});
    const nlohmann::json out = {
        {"model", std::move(model)},
        {"loss", finite_or_null(result.loss)},
        {"layers", layers},
        {"ratio_first_last", finite_or_null(result.ratio_first_last)},
    };
    std::cout << out.dump() << '\n';
    return kExitOk;
  }
  fmt::print("gradscope probe: {}\n", describe_model(o));
  print_table(result);
  return kExitOk;
}

// log10 ||dL/dh_t|| against t for a recurrent model (t = 1 the first input step), top layer.
template <typename Scalar>
int run_sequence_probe(const ProbeOptions& options) {
  const ModelOptions& o = options.model;
  RecurrentSetup<Scalar> made = make_recurrent<Scalar>(o);
  SequenceBatch<Scalar> batch;
  made.task->next_batch(o.batch, batch);
  const std::unique_ptr<Loss<Scalar>> loss = make_loss<Scalar>(made.task->loss());
  const SequenceProbeResult result = probe_sequence<Scalar>(*made.model, batch, *loss);
  const TimeStepRecord& top = result.layers.back();
  const std::size_t steps = top.grad_norm.size();
  const double first = top.grad_norm.front();
  const double last = top.grad_norm.back();
  // How far back from the last step the gradient stays above 1e-6 of its size there.
  const std::size_t horizon =
      static_cast<std::size_t>(measured_horizon(top.grad_norm).value_or(static_cast<Index>(steps)));

  if (options.json) {
    nlohmann::json time_steps = nlohmann::json::array();
    for (std::size_t t = 0; t < steps; ++t) {
      nlohmann::json entry = {
          {"t", t + 1},
          {"grad_norm", finite_or_null(top.grad_norm[t])},
          {"activation_derivative", finite_or_null(top.activation_derivative[t])}};
      if (!top.cell_grad_norm.empty())
        entry["cell_grad_norm"] = finite_or_null(top.cell_grad_norm[t]);
      if (!top.keep_gate.empty()) entry["keep_gate"] = finite_or_null(top.keep_gate[t]);
      time_steps.push_back(std::move(entry));
    }
    nlohmann::json layers = nlohmann::json::array();
    for (const TimeStepRecord& layer : result.layers) layers.push_back(to_json(layer));
    const nlohmann::json out = {
        {"model",
         {{"model", o.model},
          {"cell", cell_name(made.spec.cell)},
          {"hidden", o.hidden},
          {"layers", o.layers},
          {"task", task_name(o)},
          {"steps", steps},
          {"batch", o.batch},
          {"dtype", o.dtype},
          {"seed", o.seed}}},
        {"loss", finite_or_null(result.loss)},
        {"time_steps", time_steps},
        {"layers", layers},
        {"ratio_first_last", finite_or_null(first / last)},
        {"horizon", horizon},
    };
    std::cout << out.dump() << '\n';
    return kExitOk;
  }
  fmt::print("gradscope probe: {}\n", describe_model(o));
  fmt::print("{:>6}  {:>14}  {:>10}  {:>10}  {:>8}  {:>8}\n", "t", "log10|dL/dh_t|", "|dL/dh_t|",
             "|dL/dc_t|", "mean phi'", "keep");
  for (std::size_t t = 0; t < steps; ++t) {
    fmt::print("{:>6}  {:>14.3f}  {:>10.3e}  {:>10}  {:>8.3f}  {:>8}\n", t + 1,
               std::log10(top.grad_norm[t]), top.grad_norm[t],
               top.cell_grad_norm.empty() ? "-" : fmt::format("{:.3e}", top.cell_grad_norm[t]),
               top.activation_derivative[t],
               top.keep_gate.empty() ? "-" : fmt::format("{:.3f}", top.keep_gate[t]));
  }
  fmt::print("ratio_first_last = {:.3e} (log10 {:.2f}); t = 1 is the first input step\n",
             first / last, std::log10(first / last));
  if (horizon < steps) {
    fmt::print("the gradient falls below 1e-6 of the last step's {} steps back (T = {})\n", horizon,
               steps);
  } else {
    fmt::print("the gradient stays above 1e-6 of the last step's over all {} steps\n", steps);
  }
  return kExitOk;
}

int run_regimes(const ProbeOptions& options) {
  ThreeRegimesSpec spec;
  spec.depth = options.handles.depth->count() > 0 ? options.model.depth : 50;
  spec.width = options.model.width;
  spec.batch = options.model.batch;
  spec.seed = options.model.seed;
  MlpSpec chain;
  chain.inputs = chain.outputs = chain.width = spec.width;
  chain.depth = spec.depth;
  ModelOptions as_double = options.model;
  as_double.dtype = "float64";
  as_double.task = "regimes";
  check_memory(chain, as_double);
  const std::vector<RegimeProfile> profiles = three_regimes(spec);

  if (options.json) {
    nlohmann::json regimes = nlohmann::json::array();
    for (const RegimeProfile& p : profiles) {
      regimes.push_back({{"rho", p.rho},
                         {"log10_grad_norm", p.log10_grad_norm},
                         {"slope", p.slope},
                         {"expected_slope", p.expected_slope}});
    }
    std::cout
        << nlohmann::json{{"depth", spec.depth}, {"width", spec.width}, {"regimes", regimes}}.dump()
        << '\n';
    return kExitOk;
  }
  fmt::print(
      "The three regimes: a chain of {} linear layers W_l = rho Q_l (Q_l random orthogonal),\n"
      "width {}, batch {}, seed {}. log10 ||dL/dh_l|| per layer, input layer first:\n\n",
      spec.depth, spec.width, spec.batch, spec.seed);
  fmt::print("{:>6}", "layer");
  for (const RegimeProfile& p : profiles) fmt::print("  {:>10}", fmt::format("rho={:.1f}", p.rho));
  fmt::print("\n");
  for (std::size_t l = 0; l < profiles.front().log10_grad_norm.size(); ++l) {
    fmt::print("{:>6}", l + 1);
    for (const RegimeProfile& p : profiles) fmt::print("  {:>10.4f}", p.log10_grad_norm[l]);
    fmt::print("\n");
  }
  fmt::print("{:>6}", "slope");
  for (const RegimeProfile& p : profiles) fmt::print("  {:>10.4f}", p.slope);
  fmt::print("   measured, per layer toward the output\n{:>6}", "-lg r");
  for (const RegimeProfile& p : profiles) fmt::print("  {:>10.4f}", p.expected_slope);
  fmt::print(
      "   expected: -log10 rho\n\n"
      "rho < 1 vanishes toward the input, rho > 1 explodes, rho = 1 preserves the norm.\n");
  return kExitOk;
}

}  // namespace

void register_probe_command(CLI::App& root, CommandTable& commands) {
  auto options = std::make_shared<ProbeOptions>();
  options->model.dtype = "float64";  // analysis defaults to double precision
  CLI::App* command = root.add_subcommand(
      "probe", "One forward/backward at initialisation: the gradient norm at every layer");
  options->handles = add_model_options(*command, options->model);
  add_task_options(*command, options->model);
  command->add_flag("--regimes", options->regimes,
                    "The article's three regimes: rho = 0.9, 1.0, 1.1 (default depth 50)");
  command->add_flag("--json", options->json, "Print JSON instead of a table");
  commands[command] = [options] {
    if (options->regimes) return run_regimes(*options);
    if (is_recurrent(options->model)) {
      return is_double(options->model) ? run_sequence_probe<double>(*options)
                                       : run_sequence_probe<float>(*options);
    }
    return is_double(options->model) ? run_probe<double>(*options) : run_probe<float>(*options);
  };
}

}  // namespace gradscope::cli
