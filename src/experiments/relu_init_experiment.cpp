// relu-init: He et al. 2015's 30-layer ReLU experiment on the teacher task: He init trains,
// Xavier stalls because its gradients vanish toward the input (by 2^-1/2 per layer); tanh and
// sigmoid with Xavier beside them. Per-layer gradient profiles at initialisation and after the
// budget show the article's "necessary but not sufficient": the profile drifts during training.
#include <algorithm>
#include <cmath>

#include "gradscope/experiments/figure.hpp"
#include "gradscope/experiments/registry.hpp"
#include "gradscope/experiments/training_recipes.hpp"
#include "gradscope/model/mlp.hpp"
#include "gradscope/tasks/teacher_task.hpp"
#include "gradscope/train/trainer.hpp"

namespace gradscope {

namespace {

constexpr Index kDepth = 30;  // He et al. 2015's "30-layer small model"
constexpr Index kInputs = 32;
constexpr Index kOutputs = 4;
constexpr long kLossWindow = 10;  // loss curves: the mean of every 10 steps

struct Net {
  std::string label;
  ActivationKind activation;
  InitScheme init;
};

// What one training run leaves: the per-step losses and the probed profiles at the first step
// (the initial weights) and the last.
class Recorder final : public TrainListener {
 public:
  explicit Recorder(const ExperimentContext& context, long done, long total)
      : context_(context), done_(done), total_(total) {}
  void on_step(const StepRecord& record) override {
    losses.push_back(record.loss);
    if (!record.layers.empty()) {
      std::vector<double> profile;
      for (const LayerRecord& layer : record.layers) profile.push_back(layer.grad_norm);
      if (init_profile.empty()) {
        init_profile = std::move(profile);
      } else {
        last_profile = std::move(profile);
      }
    }
    if (record.step % 50 == 0) context_.report_progress(done_ + record.step, total_);
  }

  std::vector<double> losses;
  std::vector<double> init_profile;  // ||dL/dh_l||, l = 1..L, at step 1
  std::vector<double> last_profile;  // the same at the last step

 private:
  const ExperimentContext& context_;
  long done_;
  long total_;
};

struct Trained {
  std::vector<double> losses;
  std::vector<double> init_profile;
  std::vector<double> last_profile;
  double test_loss = 0.0;
};

Trained train_net(const Net& net, Index width, const TrainConfig& config,
                  const ExperimentContext& context, long done, long total) {
  MlpSpec spec;
  spec.inputs = kInputs;
  spec.outputs = kOutputs;
  spec.width = width;
  spec.depth = kDepth;
  spec.activation = net.activation;
  spec.init.scheme = net.init;
  Rng rng(context.seed);
  Network<float> network(build_mlp<float>(spec, rng));
  TeacherTask<float> task(kInputs, kOutputs, context.seed);
  Recorder recorder(context, done, total);
  const TrainSummary summary = train<float>(network, task, config, &recorder);
  return {std::move(recorder.losses), std::move(recorder.init_profile),
          std::move(recorder.last_profile), summary.final_eval.loss};
}

double ratio_first_last(const std::vector<double>& profile) {
  return profile.front() / profile.back();
}

class ReluInitExperiment final : public Experiment {
 public:
  std::string name() const override { return "relu-init"; }
  std::string title() const override {
    return "30-layer ReLU MLP: He init trains, Xavier stalls; gradient profiles drift in training";
  }
  std::string claim() const override {
    return "He / Kaiming initialization sets Var(W_ij) = 2/d_in for ReLU networks, which "
           "preserves activation variance through layers at initialization. Xavier / Glorot does "
           "the analogous thing for tanh networks. Correct initialization is necessary but not "
           "sufficient: it ensures the start is well-conditioned but does not protect against "
           "drift during training.";
  }
  std::string source() const override {
    return "The article, 'Initialization'; He, Zhang, Ren, Sun 2015, 'Delving deep into "
           "rectifiers': a 30-layer ReLU model converges with their init while Xavier's "
           "'completely stalls' ('its gradients are all diminishing'). With Var(W) = 1/n a ReLU "
           "layer halves the second moment, so the gradient shrinks by 2^-1/2 per layer: about "
           "2^-14 = 10^-4.2 from layer L to layer 1 (docs/experiments.md).";
  }

  ExperimentResult run(const ExperimentContext& context) const override {
    const Index width = context.quick ? 64 : 128;
    // 500 steps: Xavier escapes given 3x more; the clipping tames He's first steps, from an
    // initial loss near 24 (docs/experiments.md).
    const TrainConfig config = teacher_sgd_recipe(500);
    const std::vector<Net> nets = {
        {"relu, He (normal)", ActivationKind::kRelu, InitScheme::kHeNormal},
        {"relu, Xavier (uniform)", ActivationKind::kRelu, InitScheme::kXavierUniform},
        {"tanh, Xavier (uniform)", ActivationKind::kTanh, InitScheme::kXavierUniform},
        {"sigmoid, Xavier (uniform)", ActivationKind::kSigmoid, InitScheme::kXavierUniform},
    };

    ExperimentResult result;
    result.settings = {{"depth", kDepth},     {"width", width},    {"inputs", kInputs},
                       {"outputs", kOutputs}, {"task", "teacher"}, {"train", to_json(config)},
                       {"dtype", "float32"}};
    DataTable profiles("profiles", {"net", "stage", "layer", "grad_norm", "log10_grad_norm"});
    DataTable losses("losses", {"net", "step", "loss"});
    DataTable summary("summary", {"net", "first_loss", "test_loss", "ratio_init", "ratio_trained",
                                  "drift_decades"});
    std::vector<Trained> runs;
    const long total = config.steps * static_cast<long>(nets.size());
    context.report_progress(0, total);
    for (std::size_t n = 0; n < nets.size(); ++n) {
      const Net& net = nets[n];
      runs.push_back(
          train_net(net, width, config, context, config.steps * static_cast<long>(n), total));
      const Trained& t = runs.back();
      for (const auto& [stage, profile] :
           {std::pair{"at init", &t.init_profile}, std::pair{"after training", &t.last_profile}}) {
        for (std::size_t l = 0; l < profile->size(); ++l) {
          const double g = (*profile)[l];
          profiles.add_row({net.label, stage, static_cast<long>(l + 1), g, std::log10(g)});
        }
      }
      for (std::size_t s = 0; s + kLossWindow <= t.losses.size(); s += kLossWindow) {
        double sum = 0.0;
        for (std::size_t i = s; i < s + kLossWindow; ++i) sum += t.losses[i];
        losses.add_row({net.label, static_cast<long>(s + kLossWindow),
                        sum / static_cast<double>(kLossWindow)});
      }
      // Drift: the largest change over the layers of log10 ||dL/dh_l|| relative to the output
      // layer's, between initialisation and the end of training.
      double drift = 0.0;
      for (std::size_t l = 0; l < t.init_profile.size(); ++l) {
        drift = std::max(drift, std::abs(std::log10(t.last_profile[l] / t.last_profile.back()) -
                                         std::log10(t.init_profile[l] / t.init_profile.back())));
      }
      summary.add_row({net.label, t.losses.front(), t.test_loss, ratio_first_last(t.init_profile),
                       ratio_first_last(t.last_profile), drift});
      context.report_progress(config.steps * static_cast<long>(n + 1), total);
    }

    const Trained& he = runs[0];
    const Trained& xavier = runs[1];
    result.verdicts.push_back(verdict_at_most(
        "He trains", "He init: a 30-layer ReLU net converges (He et al. 2015)", he.test_loss,
        kHeTrainedLoss, 0.0, "test MSE (constant predictor: about 1)"));
    result.verdicts.push_back(verdict_at_least(
        "Xavier stalls", "Xavier init: the 30-layer ReLU net 'completely stalls' (He et al. 2015)",
        xavier.test_loss, kStalledLoss, 0.0, "test MSE (constant predictor: about 1)"));
    result.verdicts.push_back(
        verdict_at_most("He below Xavier", "He's loss after the budget is well below Xavier's",
                        he.test_loss / xavier.test_loss, kHeOverXavier, 0.0, "ratio of test MSEs"));
    result.verdicts.push_back(
        verdict_at_most("Xavier ratio at init",
                        "Xavier with ReLU: 'its gradients are all diminishing' (2^-1/2 per layer)",
                        std::log10(ratio_first_last(xavier.init_profile)), kXavierLog10Ratio, 0.0,
                        "decades (log10 ||dL/dh_1|| / ||dL/dh_L||)"));
    result.verdicts.push_back(verdict_within(
        "He ratio at init", "He init preserves the scale through the layers at initialization",
        std::log10(ratio_first_last(he.init_profile)), 0.0, kHeBand,
        "decades (log10 ||dL/dh_1|| / ||dL/dh_L||)"));

    figure::LineChart chart;
    chart.title = fmt::format(
        "Gradient norm vs layer, {} layers, width {}: at init and after {} "
        "steps",
        kDepth, width, config.steps);
    chart.x = {"layer", fmt::format("layer (1 = input, far left; {} = output, far right)", kDepth)};
    chart.x.domain = std::make_pair(1.0, static_cast<double>(kDepth));
    chart.y = {"grad_norm", "gradient norm ||dL/dh_l|| (log scale)", true};
    chart.series = "net";
    chart.series_title = "activation, init";
    chart.dash = "stage";
    result.figures.push_back(
        {"profiles",
         "At init He keeps the ReLU profile flat while Xavier's falls by 2^-1/2 per layer toward "
         "the input (sigmoid falls fastest); after training the profiles have moved: init sets "
         "the start, not what training does to it.",
         figure::line_chart(profiles, chart)});
    figure::LineChart loss_chart;
    loss_chart.title = fmt::format("Training loss (mean of {} steps), teacher task", kLossWindow);
    loss_chart.x = {"step", "step"};
    loss_chart.y = {"loss", "training MSE (log scale)", true};
    loss_chart.series = "net";
    loss_chart.series_title = "activation, init";
    loss_chart.points = false;
    result.figures.push_back(
        {"losses",
         "He init's loss falls well below the constant predictor's 1; Xavier's ReLU net stays "
         "near 1.",
         figure::line_chart(losses, loss_chart)});
    result.tables.push_back(std::move(summary));
    result.tables.push_back(std::move(profiles));
    result.tables.push_back(std::move(losses));
    return result;
  }

 private:
  // The teacher's targets have variance 1, so predicting their mean scores about 1.
  // He: 0.7 is 30% below that; measured 0.47-0.60 (quick, seeds 0-2), 0.36 (full).
  static constexpr double kHeTrainedLoss = 0.7;
  // Xavier "stalls": within 10% of the constant predictor; measured 0.99-1.03.
  static constexpr double kStalledLoss = 0.9;
  // "Well below": at least 20% lower; measured 0.47-0.58 (quick), 0.35 (full).
  static constexpr double kHeOverXavier = 0.8;
  // 2^-14 = 10^-4.2 expected at 30 layers; -3 leaves 1.2 decades for the finite width.
  // Measured -4.22 to -4.54.
  static constexpr double kXavierLog10Ratio = -3.0;
  // [0.05, 20], the band of tests/property/article_claims_test.cpp: +-1.301 decades around 1.
  static constexpr double kHeBand = 1.30103;
};

}  // namespace

std::unique_ptr<Experiment> make_relu_init_experiment() {
  return std::make_unique<ReluInitExperiment>();
}

}  // namespace gradscope
