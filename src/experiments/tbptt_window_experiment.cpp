// tbptt-window: the article's truncated BPTT, "unable to learn dependencies longer than K steps
// directly through the gradient", measured on a grid of window K against dependency lag D. The
// task is the adding problem with both markers in the first half (AddingLayout::kFirstHalf): the
// loss sits at step T - 1, the markers in [0, T/2), so the longest lag is D = T - 1. gradscope's
// windows are [wK, (w + 1)K) (unroller.hpp): for K <= T - 1 the window holding the loss starts at
// or after T/2 and never holds a marker; for K >= T, i.e. D <= K - 1, there is one window (docs/
// theory.md 4.4: a lag d survives only at steps at least d into their window, so lag K is cut).
// A GRU trained by Adam learns a cell when its test MSE falls below 0.01 (constant predictor: 1/6).
#include <fmt/format.h>

#include <cmath>

#include "gradscope/experiments/figure.hpp"
#include "gradscope/experiments/registry.hpp"
#include "gradscope/experiments/training_recipes.hpp"
#include "gradscope/model/recurrent_model.hpp"
#include "gradscope/tasks/adding_task.hpp"
#include "gradscope/train/recurrent_session.hpp"
#include "gradscope/train/trainer.hpp"

namespace gradscope {

namespace {

// Learned: test MSE below 0.01, as in rnn-horizon (the constant predictor scores 1/6).
constexpr double kLearnedMse = 0.01;

struct CellRun {
  Index window = 0;
  Index lag = 0;  // the longest: T - 1, from step 0 to the loss
  double test_loss = 0.0;
};

CellRun train_cell(Index window, Index length, Index hidden, const TrainConfig& config,
                   std::uint64_t seed) {
  AddingTask<float> task(length, derive_seed(seed, kDataStream), 500, AddingLayout::kFirstHalf);
  RecurrentSpec spec;
  spec.cell = CellKind::kGru;
  spec.inputs = task.input_size();
  spec.outputs = task.output_size();
  spec.hidden = hidden;
  spec.tbptt = window;
  Rng rng(derive_seed(seed, kModelStream));
  RecurrentModel<float> model(spec, rng);
  RecurrentSession<float> session(model, task);
  const TrainSummary summary = train(session, config);
  CellRun run;
  run.window = window;
  run.lag = length - 1;
  run.test_loss = summary.final_eval.loss;
  return run;
}

class TbpttWindowExperiment final : public Experiment {
 public:
  std::string name() const override { return "tbptt-window"; }
  std::string title() const override {
    return "Truncated BPTT: window K against dependency lag D, learned only where D <= K - 1";
  }
  std::string claim() const override {
    return "For RNNs, only backpropagate gradients through a fixed window of K steps. This "
           "sidesteps the worst of the vanishing and exploding problem at the cost of being "
           "unable to learn dependencies longer than K steps directly through the gradient.";
  }
  std::string source() const override {
    return "The article, '6. Optimization: truncated BPTT'; docs/theory.md 4.4: with windows "
           "[wK, (w+1)K) every lag >= K is dropped, so a dependency of lag D can be learned from "
           "the gradient only when D <= K - 1 (the off-by-one: a lag of K steps spans K + 1 "
           "states).";
  }

  ExperimentResult run(const ExperimentContext& context) const override {
    const Index hidden = 32;
    TrainConfig config = adding_adam_recipe(context.quick ? 600 : 1500);
    config.probe_every = 0;  // only the test MSE is used
    const std::vector<Index> windows = context.quick ? std::vector<Index>{4, 7, 8, 15, 16}
                                                     : std::vector<Index>{4, 7, 8, 15, 16, 31, 32};
    const std::vector<Index> lengths =
        context.quick ? std::vector<Index>{8, 16} : std::vector<Index>{8, 16, 32};

    ExperimentResult result;
    result.settings = {{"cell", "gru"},
                       {"hidden", hidden},
                       {"task", "adding, both markers in the first half (adding-first-half)"},
                       {"windows", windows},
                       {"lengths", lengths},
                       {"train", to_json(config)},
                       {"learned", fmt::format("test MSE < {:g}", kLearnedMse)},
                       {"dtype", "float32"}};
    DataTable grid("grid", {"window", "length", "lag", "test_loss", "loss_over_baseline", "learned",
                            "rule_learned", "matches"});
    const double baseline = 1.0 / 6.0;
    const long total = static_cast<long>(windows.size() * lengths.size());
    long done = 0;
    long matches = 0;
    context.report_progress(0, total);
    for (Index length : lengths) {
      for (Index window : windows) {
        const CellRun run = train_cell(window, length, hidden, config, context.seed);
        const bool learned = run.test_loss < kLearnedMse;
        const bool rule = run.lag <= window - 1;
        matches += learned == rule ? 1 : 0;
        grid.add_row({window, length, run.lag, run.test_loss, run.test_loss / baseline,
                      learned ? 1 : 0, rule ? 1 : 0, learned == rule ? 1 : 0});
        context.report_progress(++done, total);
      }
    }

    result.verdicts.push_back(verdict_at_least(
        "cells matching the D <= K - 1 rule",
        "the model cannot learn dependencies longer than K (and learns those inside the window)",
        static_cast<double>(matches) / static_cast<double>(total), kMatchFraction, 0.0,
        "fraction of (K, D) cells"));

    figure::HeatMap map;
    map.title = "GRU, adding problem (markers in the first half), truncated BPTT window K";
    map.x = {"window", "window K"};
    map.y = {"lag", "longest dependency lag D = T - 1 (steps)"};
    map.color = {"loss_over_baseline", "test MSE / (1/6)", true};
    result.figures.push_back(
        {"grid",
         "Test MSE over the constant predictor's 1/6: low (learned) only where D <= K - 1, i.e. "
         "K >= T; with K = T - 1 (the off-by-one) no marker reaches the window that holds the "
         "loss.",
         figure::heat_map(grid, map)});
    result.tables.push_back(std::move(grid));
    return result;
  }

 private:
  // At most one cell in eight may disagree with the rule: a short budget may leave the longest
  // learnable cell just above 0.01, or a trace the forward pass carries across the window edge
  // (T = 8, K = 4 and 7 reach 0.07 - 0.13) may fall below it on another seed.
  static constexpr double kMatchFraction = 0.875;
};

}  // namespace

std::unique_ptr<Experiment> make_tbptt_window_experiment() {
  return std::make_unique<TbpttWindowExperiment>();
}

}  // namespace gradscope
