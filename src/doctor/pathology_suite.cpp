#include "gradscope/doctor/pathology_suite.hpp"

#include <algorithm>

namespace gradscope {

namespace {

using Flags = std::vector<std::string>;

// Small and short: width 32, batch 32, 200 steps on the teacher task; recurrent: 16 units,
// batch 16, 200 steps on the adding problem. Probed every 20 steps.
Flags mlp(Flags extra) {
  Flags flags = {"--width", "32", "--batch", "32", "--steps", "200", "--probe-every", "20"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  return flags;
}

Flags rnn(Flags extra) {
  Flags flags = {"--task",  "adding", "--hidden",      "16", "--batch", "16",
                 "--steps", "200",    "--probe-every", "20"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  return flags;
}

std::vector<PathologyCase> make_suite() {
  const std::string van(kVanishingGradient);
  const std::string exp(kExplodingGradient);
  const std::string vtt(kVanishingThroughTime);
  const std::string sat(kSaturation);
  const std::string dead(kDyingRelu);
  const std::string clip(kClippingAlwaysActive);
  const std::string ok(kHealthy);
  return {
      // Vanishing through depth. SGD where Adam would rescale the tiny gradients and hide it.
      {"deep-sigmoid",
       van,
       "20 sigmoid layers, Xavier",
       {mlp({"--depth", "20", "--act", "sigmoid", "--seed", "1"})}},
      {"deep-sigmoid-sgd",
       van,
       "12 sigmoid layers, SGD 0.1",
       {mlp({"--depth", "12", "--act", "sigmoid", "--optimizer", "sgd", "--lr", "0.1", "--seed",
             "2"})}},
      {"deep-tanh-small-init",
       van,
       "30 tanh layers, sigma_w^2 = 0.5, SGD",
       {mlp({"--depth", "30", "--act", "tanh", "--sigma-w2", "0.5", "--optimizer", "sgd", "--lr",
             "0.01", "--seed", "3"})}},
      {"deep-linear-small-init",
       van,
       "30 linear layers, sigma_w^2 = 0.5, SGD",
       {mlp({"--depth", "30", "--act", "identity", "--sigma-w2", "0.5", "--optimizer", "sgd",
             "--lr", "0.01", "--seed", "4"})}},
      {"deep-relu-small-init",
       van,
       "40 ReLU layers, sigma_w^2 = 1 (half of He), SGD",
       {mlp({"--depth", "40", "--act", "relu", "--sigma-w2", "1", "--optimizer", "sgd", "--lr",
             "0.01", "--seed", "5"})}},
      {"layer-norm-sigmoid",
       van,
       "20 sigmoid layers with layer norm (no identity path)",
       {mlp({"--depth", "20", "--act", "sigmoid", "--norm", "layer", "--seed", "6"})}},
      // Exploding.
      {"deep-relu-large-init",
       exp,
       "20 ReLU layers, sigma_w^2 = 4 (twice He)",
       {mlp({"--depth", "20", "--act", "relu", "--sigma-w2", "4", "--seed", "7"})}},
      {"deep-tanh-large-init",
       exp,
       "20 tanh layers, sigma_w^2 = 20 (chaotic phase)",
       {mlp({"--depth", "20", "--act", "tanh", "--sigma-w2", "20", "--seed", "8"})}},
      {"deep-linear-rho",
       exp,
       "20 linear layers, spectral radius 1.5",
       {mlp({"--depth", "20", "--act", "identity", "--rho", "1.5", "--seed", "9"})}},
      {"mlp-high-lr-sgd",
       exp,
       "6 tanh layers, SGD with learning rate 5",
       {mlp({"--depth", "6", "--act", "tanh", "--optimizer", "sgd", "--lr", "5", "--seed", "10"})}},
      {"mlp-sgd-momentum",
       exp,
       "8 ReLU layers, SGD 0.5 with momentum 0.9",
       {mlp({"--depth", "8", "--act", "relu", "--init", "he", "--optimizer", "sgd", "--lr", "0.5",
             "--momentum", "0.9", "--seed", "11"})}},
      {"rnn-rho-1.5-sgd",
       exp,
       "tanh RNN, W_hh spectral radius 1.5, no clipping, SGD 0.1",
       {rnn({"--model", "rnn", "--seq", "50", "--rho", "1.5", "--optimizer", "sgd", "--lr", "0.1",
             "--seed", "10"})}},
      {"rnn-rho-3",
       exp,
       "tanh RNN, W_hh spectral radius 3, no clipping",
       {rnn({"--model", "rnn", "--seq", "50", "--rho", "3", "--seed", "11"})}},
      // Vanishing through time.
      {"rnn-adding-100",
       vtt,
       "vanilla tanh RNN, adding problem T = 100",
       {rnn({"--model", "rnn", "--seq", "100", "--seed", "12"})}},
      {"rnn-adding-150",
       vtt,
       "vanilla tanh RNN, adding problem T = 150",
       {rnn({"--model", "rnn", "--seq", "150", "--seed", "13"})}},
      {"rnn-rho-0.5",
       vtt,
       "tanh RNN, W_hh spectral radius 0.5, T = 40",
       {rnn({"--model", "rnn", "--seq", "40", "--rho", "0.5", "--seed", "14"})}},
      {"relu-rnn-adding-100",
       vtt,
       "ReLU RNN, adding problem T = 100",
       {rnn({"--model", "rnn", "--act", "relu", "--seq", "100", "--seed", "15"})}},
      {"rnn-short-vs-long",
       vtt,
       "the same RNN learns T = 5, plateaus at T = 40",
       {{"--task", "adding", "--model", "rnn", "--hidden", "16", "--batch", "32", "--lr", "0.01",
         "--seq", "5", "--steps", "1000", "--probe-every", "100", "--seed", "16"},
        {"--task", "adding", "--model", "rnn", "--hidden", "16", "--batch", "32", "--lr", "0.01",
         "--seq", "40", "--steps", "400", "--probe-every", "40", "--seed", "16"}}},
      // Saturation.
      {"tanh-huge-init",
       sat,
       "4 tanh layers, sigma_w^2 = 50",
       {mlp({"--depth", "4", "--act", "tanh", "--sigma-w2", "50", "--seed", "17"})}},
      {"sigmoid-large-bias",
       sat,
       "4 sigmoid layers, sigma_b^2 = 100",
       {mlp({"--depth", "4", "--act", "sigmoid", "--sigma-w2", "1", "--sigma-b2", "100", "--seed",
             "18"})}},
      {"tanh-large-bias",
       sat,
       "6 tanh layers, sigma_b^2 = 25",
       {mlp({"--depth", "6", "--act", "tanh", "--sigma-w2", "1", "--sigma-b2", "25", "--seed",
             "19"})}},
      {"sigmoid-huge-init",
       sat,
       "3 sigmoid layers, sigma_w^2 = 100",
       {mlp({"--depth", "3", "--act", "sigmoid", "--sigma-w2", "100", "--seed", "20"})}},
      // Dying ReLU.
      {"relu-adam-lr-0.1",
       dead,
       "8 ReLU layers, Adam with learning rate 0.1",
       {mlp({"--depth", "8", "--act", "relu", "--init", "he", "--lr", "0.1", "--seed", "21"})}},
      {"relu-adam-lr-0.05",
       dead,
       "6 ReLU layers, Adam with learning rate 0.05",
       {mlp({"--depth", "6", "--act", "relu", "--init", "he", "--lr", "0.05", "--seed", "22"})}},
      {"relu-large-bias-lr",
       dead,
       "8 ReLU layers, sigma_b^2 = 4, Adam 0.1",
       {mlp({"--depth", "8", "--act", "relu", "--sigma-w2", "2", "--sigma-b2", "4", "--lr", "0.1",
             "--seed", "23"})}},
      {"relu-wide-lr-0.2",
       dead,
       "4 ReLU layers of 64, Adam 0.2",
       {{"--width", "64", "--batch", "32", "--steps", "200", "--probe-every", "20", "--depth", "4",
         "--act", "relu", "--init", "he", "--lr", "0.2", "--seed", "24"}}},
      {"relu-no-bias-lr",
       dead,
       "6 ReLU layers without biases, Adam 0.05",
       {mlp({"--depth", "6", "--act", "relu", "--sigma-w2", "2", "--no-bias", "--lr", "0.05",
             "--seed", "25"})}},
      // Clipping always active.
      {"mlp-clip-0.001",
       clip,
       "ReLU+He MLP, --clip 0.001",
       {mlp(
           {"--depth", "10", "--act", "relu", "--init", "he", "--clip", "0.001", "--seed", "26"})}},
      {"tanh-clip-0.01",
       clip,
       "tanh MLP, --clip 0.01",
       {mlp({"--depth", "5", "--act", "tanh", "--clip", "0.01", "--seed", "27"})}},
      {"rnn-clip-1e-4",
       clip,
       "tanh RNN T = 10, --clip 1e-4",
       {rnn({"--model", "rnn", "--seq", "10", "--clip", "0.0001", "--seed", "28"})}},
      {"lstm-clip-0.001",
       clip,
       "LSTM T = 20, --clip 0.001",
       {rnn({"--model", "lstm", "--seq", "20", "--forget-bias", "5", "--clip", "0.001", "--seed",
             "29"})}},
      // Healthy.
      {"relu-he",
       ok,
       "20 ReLU layers, He",
       {mlp({"--depth", "20", "--act", "relu", "--init", "he", "--seed", "30"})}},
      {"residual-tanh",
       ok,
       "30 tanh layers as residual blocks, alpha 0.1",
       {mlp({"--depth", "30", "--act", "tanh", "--residual", "--alpha", "0.1", "--seed", "31"})}},
      {"layer-norm-tanh",
       ok,
       "20 tanh layers with layer norm",
       {mlp({"--depth", "20", "--act", "tanh", "--norm", "layer", "--seed", "32"})}},
      {"layer-norm-relu",
       ok,
       "20 ReLU layers with layer norm",
       {mlp({"--depth", "20", "--act", "relu", "--norm", "layer", "--seed", "33"})}},
      {"batch-norm-tanh",
       ok,
       "20 tanh layers with batch norm",
       {mlp({"--depth", "20", "--act", "tanh", "--norm", "batch", "--seed", "34"})}},
      {"tanh-xavier",
       ok,
       "5 tanh layers, Xavier",
       {mlp({"--depth", "5", "--act", "tanh", "--seed", "35"})}},
      {"gelu-he",
       ok,
       "10 GELU layers, He",
       {mlp({"--depth", "10", "--act", "gelu", "--init", "he", "--seed", "36"})}},
      {"lstm-adding-100",
       ok,
       "LSTM, forget bias 5, adding problem T = 100",
       {rnn({"--model", "lstm", "--seq", "100", "--forget-bias", "5", "--seed", "37"})}},
      {"rnn-clipped-short",
       ok,
       "tanh RNN T = 10, --clip 1",
       {rnn({"--model", "rnn", "--seq", "10", "--clip", "1", "--seed", "38"})}},
  };
}

}  // namespace

const std::vector<PathologyCase>& pathology_suite() {
  static const std::vector<PathologyCase> suite = make_suite();
  return suite;
}

std::vector<std::string> diagnosis_classes() {
  return {std::string(kHealthy),
          std::string(kVanishingGradient),
          std::string(kExplodingGradient),
          std::string(kVanishingThroughTime),
          std::string(kSaturation),
          std::string(kDyingRelu),
          std::string(kClippingAlwaysActive)};
}

std::string primary_code(const Diagnosis& diagnosis) {
  return diagnosis.findings.empty() ? std::string(kHealthy) : diagnosis.findings.front().code;
}

ConfusionMatrix::ConfusionMatrix()
    : classes_(diagnosis_classes()),
      counts_(classes_.size(), std::vector<long>(classes_.size(), 0)) {}

std::size_t ConfusionMatrix::index_of(const std::string& label) const {
  const auto it = std::find(classes_.begin(), classes_.end(), label);
  return static_cast<std::size_t>(it - classes_.begin());
}

void ConfusionMatrix::add(const std::string& truth, const std::string& predicted) {
  const std::size_t r = index_of(truth);
  const std::size_t c = index_of(predicted);
  if (r < classes_.size() && c < classes_.size()) ++counts_[r][c];
}

long ConfusionMatrix::count(std::size_t truth, std::size_t predicted) const {
  return counts_.at(truth).at(predicted);
}

long ConfusionMatrix::correct() const {
  long sum = 0;
  for (std::size_t i = 0; i < classes_.size(); ++i) sum += counts_[i][i];
  return sum;
}

long ConfusionMatrix::total() const {
  long sum = 0;
  for (const std::vector<long>& row : counts_) {
    for (long n : row) sum += n;
  }
  return sum;
}

nlohmann::json ConfusionMatrix::to_json() const {
  return {{"classes", classes_}, {"counts", counts_}, {"correct", correct()}, {"total", total()}};
}

nlohmann::json SuiteEvaluation::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const CaseOutcome& c : cases) {
    list.push_back({{"name", c.name},
                    {"expected", c.expected},
                    {"ours", c.ours},
                    {"autotrainer", c.autotrainer},
                    {"seconds", c.seconds}});
  }
  return {{"cases", list},
          {"ours", ours.to_json()},
          {"autotrainer", autotrainer.to_json()},
          {"seconds", seconds}};
}

SuiteEvaluation evaluate_suite(const std::vector<PathologyCase>& suite, const CaseRunner& run_case,
                               const std::function<void(const CaseOutcome&)>& on_case) {
  SuiteEvaluation evaluation;
  for (const PathologyCase& c : suite) {
    CaseOutcome outcome;
    outcome.name = c.name;
    outcome.expected = c.expected;
    const std::vector<LoggedRun> runs = run_case(c, outcome.seconds);
    outcome.ours = primary_code(diagnose(runs));
    outcome.autotrainer = primary_code(diagnose_autotrainer(runs));
    evaluation.ours.add(c.expected, outcome.ours);
    evaluation.autotrainer.add(c.expected, outcome.autotrainer);
    evaluation.seconds += outcome.seconds;
    if (on_case) on_case(outcome);
    evaluation.cases.push_back(std::move(outcome));
  }
  return evaluation;
}

}  // namespace gradscope
