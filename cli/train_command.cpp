// gradscope train: trains a model on a task, writes the run log (docs/run-log.md) record by
// record, and shows progress.
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <ctime>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "gradscope/core/error.hpp"
#include "gradscope/core/random.hpp"
#include "gradscope/init/initializer.hpp"
#include "gradscope/io/checkpoint.hpp"
#include "gradscope/nn/network.hpp"
#include "gradscope/probe/run_log.hpp"
#include "gradscope/train/feed_forward_session.hpp"
#include "gradscope/train/recurrent_session.hpp"
#include "gradscope/train/trainer.hpp"
#include "model_options.hpp"
#include "progress.hpp"

namespace gradscope::cli {

namespace {

struct TrainOptions {
  ModelOptions model;
  TrainConfig config;
  std::string optimizer = "adam";
  std::string on_nonfinite = "stop";
  std::optional<double> clip;
  std::optional<double> clip_value;
  std::string log;
  std::string load_weights;        // safetensors file to start from (PyTorch names)
  std::string save_weights;        // safetensors file to write the trained parameters to
  std::optional<long> eval_every;  // unset: steps / 10
  long progress_every = 0;
  bool json = false;
};

// Now in UTC, as "20261129-153000" for file names or ISO 8601 for the log header.
std::string utc_compact() {
  return fmt::format("{:%Y%m%d-%H%M%S}", fmt::gmtime(std::time(nullptr)));
}
std::string utc_iso8601() {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::time(nullptr)));
}

// The header's layer table from the probe's view of the layers.
nlohmann::json layer_table(const std::vector<LayerRecord>& records) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerRecord& r : records) {
    layers.push_back(
        {{"index", r.index}, {"name", r.name}, {"kind", r.kind}, {"activation", r.activation}});
  }
  return layers;
}

// Writes every step and evaluation to the run log and drives the progress display.
class LogAndProgress final : public TrainListener {
 public:
  LogAndProgress(RunLogWriter& log, Progress& progress) : log_(log), progress_(progress) {}
  void on_step(const StepRecord& record) override {
    log_.write(to_json(record));
    progress_.update(record.step, record.loss);
  }
  void on_eval(const EvalRecord& record) override { log_.write(to_json(record)); }

 private:
  RunLogWriter& log_;
  Progress& progress_;
};

// --load-weights: the parameters (and BatchNorm buffers) of a checkpoint, e.g. one exported from
// PyTorch, replace the initialisation before anything else looks at them.
template <typename Scalar>
void load_weights(const TrainOptions& options, const std::vector<Param<Scalar>>& params,
                  const std::vector<Buffer<Scalar>>& buffers) {
  if (!options.load_weights.empty()) {
    load_parameters<Scalar>(read_safetensors(options.load_weights), params, buffers);
  }
}

// --save-weights must be writable before hours of training are spent.
void check_save_path(const std::string& path) {
  if (path.empty()) return;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent)) {
    throw_bad_input("--save-weights {}: directory {} does not exist", path, parent.string());
  }
}

// Opens the run log, writes its header, trains, saves, and prints the summary: the same for
// every model.
template <typename Scalar>
int run_session(TrainOptions& options, TrainingSession<Scalar>& session, nlohmann::json header,
                const std::vector<Buffer<Scalar>>& buffers) {
  const ModelOptions& o = options.model;
  const TrainConfig& config = options.config;
  std::string log_path = options.log;
  if (log_path.empty()) {
    std::filesystem::create_directories("runs");
    log_path = fmt::format("runs/train-{}-{}.jsonl", task_name(o), utc_compact());
  }
  RunLogWriter log(log_path);
  header["type"] = "header";
  header["schema"] = kRunLogSchema;
  header["tool"] = "gradscope";
  header["version"] = GRADSCOPE_VERSION;
  header["command"] = "train";
  header["created"] = utc_iso8601();
  header["seed"] = o.seed;
  header["train"] = to_json(options.config);
  log.write(header);

  const long every =
      options.progress_every > 0 ? options.progress_every : std::max(1L, config.steps / 20);
  Progress progress(fmt::format("train {}", task_name(o)), config.steps, every);
  LogAndProgress listener(log, progress);
  TrainSummary summary;
  try {
    summary = train(session, config, &listener);
  } catch (const Error& e) {
    progress.finish();
    log.write({{"type", "end"}, {"status", "stopped"}, {"reason", e.what()}});
    throw;
  }
  progress.finish();
  nlohmann::json end = {{"type", "end"},
                        {"status", "completed"},
                        {"steps", summary.steps},
                        {"skipped", summary.skipped},
                        {"seconds", summary.seconds},
                        {"final_loss", finite_or_null(summary.final_loss)},
                        {"test", to_json(summary.final_eval)}};
  log.write(end);
  if (!options.save_weights.empty()) {
    SafetensorsWriter writer;
    add_parameters(writer, session.params());
    add_buffers(writer, buffers);
    writer.set_metadata("tool", std::string("gradscope ") + GRADSCOPE_VERSION);
    writer.set_metadata("steps", std::to_string(summary.steps));
    writer.write(options.save_weights);
    end["weights"] = options.save_weights;
  }

  if (options.json) {
    end["log"] = log_path;
    std::cout << end.dump() << '\n';
    return kExitOk;
  }
  fmt::print("trained {} steps in {:.1f} s ({:.1f} steps/s); last batch loss {:.4g}\n",
             summary.steps, summary.seconds,
             static_cast<double>(summary.steps) / std::max(1e-9, summary.seconds),
             summary.final_loss);
  fmt::print("test loss {:.4g}", summary.final_eval.loss);
  if (summary.final_eval.accuracy) {
    fmt::print(", test accuracy {:.2f}%", 100.0 * *summary.final_eval.accuracy);
  }
  if (summary.skipped > 0) fmt::print("; {} updates skipped (non-finite)", summary.skipped);
  fmt::print("\nrun log: {}\n", log_path);
  return kExitOk;
}

template <typename Scalar>
int run_train(TrainOptions& options) {
  ModelOptions& o = options.model;
  TrainConfig& config = options.config;
  config.batch = o.batch;
  config.optimizer.kind = parse_optimizer(options.optimizer);
  config.on_nonfinite = parse_nonfinite_policy(options.on_nonfinite);
  config.clip_norm = options.clip;
  config.clip_value = options.clip_value;
  config.eval_every = options.eval_every.value_or(std::max(1L, config.steps / 10));
  validate(config);

  // Everything that can be refused is checked before the log file is created.
  check_save_path(options.save_weights);
  if (is_recurrent(o)) {
    RecurrentSetup<Scalar> made = make_recurrent<Scalar>(o);
    load_weights<Scalar>(options, made.model->params(), {});
    RecurrentSession<Scalar> session(*made.model, *made.task);
    nlohmann::json model = to_json(made.spec, made.task->sequence_length());
    model["dtype"] = o.dtype;
    nlohmann::json header = {{"model", std::move(model)},
                             {"task",
                              {{"name", task_name(o)},
                               {"inputs", made.task->input_size()},
                               {"outputs", made.task->output_size()},
                               {"seq", made.task->sequence_length()},
                               {"baseline_loss", made.task->baseline_loss()},
                               {"loss", made.task->is_classification() ? "cross_entropy" : "mse"}}},
                             {"layers", layer_table(session.layer_records())}};
    return run_session<Scalar>(options, session, std::move(header), {});
  }
  FeedForwardSetup<Scalar> made = make_feed_forward<Scalar>(o);
  const std::vector<Buffer<Scalar>> buffers = made.network.body().buffers();
  load_weights<Scalar>(options, made.network.params(), buffers);
  FeedForwardSession<Scalar> session(made.network, *made.task);
  nlohmann::json model = to_json(made.spec);
  model["dtype"] = o.dtype;
  nlohmann::json header = {{"model", std::move(model)},
                           {"task",
                            {{"name", task_name(o)},
                             {"inputs", made.task->input_size()},
                             {"outputs", made.task->output_size()},
                             {"loss", made.task->is_classification() ? "cross_entropy" : "mse"}}},
                           {"layers", layer_table(session.layer_records())}};
  return run_session<Scalar>(options, session, std::move(header), buffers);
}

}  // namespace

void register_train_command(CLI::App& root, CommandTable& commands) {
  auto options = std::make_shared<TrainOptions>();
  CLI::App* command = root.add_subcommand("train", "Train a model on a task and write a run log");
  (void)add_model_options(*command, options->model);
  add_task_options(*command, options->model);
  TrainConfig& c = options->config;
  c.steps = 2000;  // the default budget: Fashion-MNIST reaches 85%+ with a 2-hidden-layer MLP
  command->add_option("--steps", c.steps, "Training steps")
      ->check(CLI::Range(1L, 1000000000L))
      ->capture_default_str();
  command->add_option("--optimizer", options->optimizer, "sgd or adam")
      ->check(CLI::IsMember({"sgd", "adam"}))
      ->capture_default_str();
  command->add_option("--lr", c.optimizer.lr, "Learning rate")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command->add_option("--momentum", c.optimizer.momentum, "SGD momentum")
      ->check(CLI::Range(0.0, 0.999999))
      ->capture_default_str();
  command->add_flag("--nesterov", c.optimizer.nesterov, "SGD with Nesterov momentum");
  command->add_option("--weight-decay", c.optimizer.weight_decay, "L2 weight decay")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command
      ->add_option("--clip", options->clip,
                   "Clip by global norm: if ||g|| > C then g <- C g / ||g||")
      ->check(CLI::PositiveNumber);
  command->add_option("--clip-value", options->clip_value, "Clamp every gradient entry to [-V, V]")
      ->check(CLI::PositiveNumber);
  command
      ->add_option("--on-nonfinite", options->on_nonfinite,
                   "NaN/Inf loss or gradient: stop (error naming step and layer) or skip")
      ->check(CLI::IsMember({"stop", "skip"}))
      ->capture_default_str();
  command->add_option("--log", options->log,
                      "Run log path (default: runs/train-<task>-<UTC time>.jsonl)");
  command->add_option("--probe-every", c.probe_every, "Record per-layer gradients every N steps")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command
      ->add_option("--spectrum-every", c.spectrum_every,
                   "Record each layer's Jacobian spectral radius and norm every N steps (0: never)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command
      ->add_option("--eval-every", options->eval_every,
                   "Evaluate on the test set every N steps; 0: only at the end (default steps/10)")
      ->check(CLI::NonNegativeNumber);
  command
      ->add_option("--progress-every", options->progress_every,
                   "Plain progress line every N steps when not on a terminal (default steps/20)")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--load-weights", options->load_weights,
                      "Start from this safetensors checkpoint (PyTorch names, e.g. exported from "
                      "a PyTorch module)");
  command->add_option("--save-weights", options->save_weights,
                      "Write the trained parameters to this safetensors file (PyTorch names)");
  command->add_flag("--json", options->json, "Print the summary as JSON");
  commands[command] = [options] {
    return is_double(options->model) ? run_train<double>(*options) : run_train<float>(*options);
  };
}

}  // namespace gradscope::cli
