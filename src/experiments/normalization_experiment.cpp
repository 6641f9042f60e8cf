// normalization: batch, layer and weight norm against a plain deep sigmoid MLP (Xavier), trained
// on the teacher task with SGD: the spread of the per-layer gradient norms (max over min, in
// decades) at every probed step of training, as tests/learning/mitigation_training_test.cpp
// measures it through the CLI.
#include <algorithm>
#include <cmath>
#include <limits>

#include "gradscope/experiments/figure.hpp"
#include "gradscope/experiments/registry.hpp"
#include "gradscope/model/mlp.hpp"
#include "gradscope/tasks/teacher_task.hpp"
#include "gradscope/train/trainer.hpp"

namespace gradscope {

namespace {

constexpr Index kInputs = 32;
constexpr Index kOutputs = 4;

struct Net {
  std::string label;
  NormKind norm;
  NormPosition position;
};

// log10 max_l ||dL/dh_l|| - log10 min_l ||dL/dh_l|| at every probed step, and the last profile.
class SpreadRecorder final : public TrainListener {
 public:
  void on_step(const StepRecord& record) override {
    if (record.layers.empty()) return;
    double low = std::numeric_limits<double>::infinity();
    double high = -low;
    last_profile.clear();
    for (const LayerRecord& layer : record.layers) {
      const double g = std::log10(layer.grad_norm);
      low = std::min(low, g);
      high = std::max(high, g);
      last_profile.push_back(layer.grad_norm);
    }
    steps.push_back(record.step);
    spreads.push_back(high - low);
  }

  std::vector<long> steps;
  std::vector<double> spreads;  // decades
  std::vector<double> last_profile;
};

struct Trained {
  SpreadRecorder recorded;
  double test_loss = 0.0;
};

Trained train_net(const Net& net, Index depth, Index width, const TrainConfig& config,
                  std::uint64_t seed) {
  MlpSpec spec;
  spec.inputs = kInputs;
  spec.outputs = kOutputs;
  spec.width = width;
  spec.depth = depth;
  spec.activation = ActivationKind::kSigmoid;
  spec.init.scheme = InitScheme::kXavierUniform;
  spec.norm = net.norm;
  spec.norm_position = net.position;
  Rng rng(seed);
  Network<float> network(build_mlp<float>(spec, rng));
  TeacherTask<float> task(kInputs, kOutputs, seed);
  Trained trained;
  trained.test_loss = train<float>(network, task, config, &trained.recorded).final_eval.loss;
  return trained;
}

double max_spread(const Trained& t) {
  return *std::max_element(t.recorded.spreads.begin(), t.recorded.spreads.end());
}

class NormalizationExperiment final : public Experiment {
 public:
  std::string name() const override { return "normalization"; }
  std::string title() const override {
    return "Batch, layer and weight norm against plain: spread of per-layer gradient norms in "
           "training";
  }
  std::string claim() const override {
    return "Batch norm, layer norm, and weight norm constrain activation and Jacobian scales "
           "during training, preventing the slow drift toward exploding or vanishing regimes. "
           "They do not provide an identity path the way gating or residuals do, but they keep "
           "the regime stable.";
  }
  std::string source() const override {
    return "The article, 'Architecture: normalization'; Ioffe & Szegedy 2015 (BN-x5-Sigmoid "
           "trains); Ba et al. 2016 (layer norm); Salimans & Kingma 2016 (weight norm, "
           "w = g v/||v||, initialised to leave the function unchanged, so at initialisation it "
           "is the plain net: docs/experiments.md).";
  }

  ExperimentResult run(const ExperimentContext& context) const override {
    const Index depth = context.quick ? 30 : 50;
    const Index width = context.quick ? 32 : 64;
    TrainConfig config;
    config.steps = context.quick ? 300 : 1000;
    config.batch = 64;
    config.optimizer.kind = OptimizerKind::kSgd;
    config.optimizer.lr = 0.1;
    config.clip_norm = 1.0;
    config.probe_every = context.quick ? 30 : 50;
    config.eval_every = 0;
    const std::vector<Net> nets = {
        {"plain", NormKind::kNone, NormPosition::kPost},
        {"batch norm (Dense, BN, act)", NormKind::kBatch, NormPosition::kPost},
        {"layer norm (LN, Dense, act)", NormKind::kLayer, NormPosition::kPre},
        {"layer norm (Dense, LN, act)", NormKind::kLayer, NormPosition::kPost},
        {"weight norm", NormKind::kWeight, NormPosition::kPost},
    };

    ExperimentResult result;
    result.settings = {{"depth", depth},
                       {"width", width},
                       {"inputs", kInputs},
                       {"outputs", kOutputs},
                       {"activation", "sigmoid"},
                       {"init", "xavier_uniform"},
                       {"task", "teacher"},
                       {"steps", config.steps},
                       {"batch", config.batch},
                       {"probe_every", config.probe_every},
                       {"optimizer", "sgd, lr 0.1, clip 1"},
                       {"dtype", "float32"}};
    DataTable spreads("spreads", {"net", "step", "spread_decades"});
    DataTable profiles("profiles", {"net", "layer", "grad_norm"});
    DataTable summary("summary", {"net", "max_spread_decades", "test_loss"});
    std::vector<Trained> runs;
    context.report_progress(0, static_cast<long>(nets.size()));
    for (std::size_t n = 0; n < nets.size(); ++n) {
      runs.push_back(train_net(nets[n], depth, width, config, context.seed));
      const Trained& t = runs.back();
      for (std::size_t i = 0; i < t.recorded.steps.size(); ++i) {
        spreads.add_row({nets[n].label, t.recorded.steps[i], t.recorded.spreads[i]});
      }
      for (std::size_t l = 0; l < t.recorded.last_profile.size(); ++l) {
        profiles.add_row({nets[n].label, static_cast<long>(l + 1), t.recorded.last_profile[l]});
      }
      summary.add_row({nets[n].label, max_spread(t), t.test_loss});
      context.report_progress(static_cast<long>(n + 1), static_cast<long>(nets.size()));
    }

    const std::string units = "decades (max over probed steps of log10 max/min over layers)";
    result.verdicts.push_back(verdict_at_most("batch norm spread",
                                              "batch norm keeps the regime stable during training",
                                              max_spread(runs[1]), kNormalisedSpread, 0.0, units));
    result.verdicts.push_back(verdict_at_most("layer norm spread",
                                              "layer norm keeps the regime stable during training",
                                              max_spread(runs[2]), kNormalisedSpread, 0.0, units));
    result.verdicts.push_back(
        verdict_at_least("plain spread", "without normalisation the sigmoid net's gradients vanish",
                         max_spread(runs[0]), kPlainSpread, 0.0, units));
    result.verdicts.push_back(verdict_within(
        "weight norm = plain at init",
        "weight norm reparametrises W = g v/||v|| with g = ||v|| at init: the same function and "
        "gradients as the plain net (it does not constrain the scales at init)",
        runs[4].recorded.spreads.front() - runs[0].recorded.spreads.front(), 0.0,
        kReparametrisationTolerance, "decades (spread at step 1, weight norm minus plain)"));

    figure::LineChart chart;
    chart.title = fmt::format(
        "Spread of per-layer gradient norms during training, sigmoid, {} "
        "layers, width {}",
        depth, width);
    chart.x = {"step", "training step"};
    chart.y = {"spread_decades", "log10 (max over layers / min over layers) of ||dL/dh_l||"};
    chart.series = "net";
    chart.series_title = "network";
    result.figures.push_back(
        {"spreads",
         "Batch norm and pre-position layer norm keep every layer's gradient within a decade of "
         "the others through training; the plain and weight-normalised nets span tens of "
         "decades.",
         figure::line_chart(spreads, chart)});
    figure::LineChart profile_chart;
    profile_chart.title = fmt::format("Gradient norm vs layer after {} steps", config.steps);
    profile_chart.x = {"layer",
                       fmt::format("layer (1 = input, far left; {} = output, far right)", depth)};
    profile_chart.x.domain = std::make_pair(1.0, static_cast<double>(depth));
    profile_chart.y = {"grad_norm", "gradient norm ||dL/dh_l|| (log scale)", true};
    profile_chart.series = "net";
    profile_chart.series_title = "network";
    result.figures.push_back({"profiles",
                              "The last probed step's gradient profile: flat with batch norm and "
                              "pre-position layer norm, vanishing toward the input without.",
                              figure::line_chart(profiles, profile_chart)});
    result.tables.push_back(std::move(summary));
    result.tables.push_back(std::move(spreads));
    result.tables.push_back(std::move(profiles));
    return result;
  }

 private:
  // tests/learning/mitigation_training_test.cpp's 2 decades; measured at most 0.65 (quick, seeds
  // 0-2) and 0.77 (full, seed 0).
  static constexpr double kNormalisedSpread = 2.0;
  // Measured 17.4-18.2 (quick) and 30.4 (full); 10 is that test's bound.
  static constexpr double kPlainSpread = 10.0;
  // Only float32 rounding of g v/||v|| separates the two at step 1 (measured 0 to 1e-6).
  static constexpr double kReparametrisationTolerance = 0.01;
};

}  // namespace

std::unique_ptr<Experiment> make_normalization_experiment() {
  return std::make_unique<NormalizationExperiment>();
}

}  // namespace gradscope
