// The recurrent experiments (lstm-cell-path, clipping, tbptt-window, rnn-horizon) run in quick
// mode: every verdict passes, and the tables and figures have the shapes the report and
// docs/experiments.md describe.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "support/experiment_checks.hpp"

namespace gradscope::testing {
namespace {

TEST(LstmCellPathExperiment, QuickRunPassesEveryVerdict) {
  const ExperimentResult result = run_quick_experiment("lstm-cell-path");
  EXPECT_EQ(result.verdicts.size(), 6u);
  ASSERT_EQ(result.figures.size(), 2u);
  EXPECT_EQ(result.figures[0].name, "per_step");
  EXPECT_EQ(result.figures[1].name, "products");
  // Quick: 4 forget biases, with default and zero W_hh.
  EXPECT_EQ(result_table(result, "per_step").size(), 8u);
  // 3 configurations x 2 paths x 200 steps back.
  EXPECT_EQ(result_table(result, "products").size(), 3u * 2u * 200u);
  for (const Figure& figure : result.figures) {
    EXPECT_EQ(
        figure.spec["data"]["values"].size(),
        result_table(result, figure.name == "per_step" ? "per_step_curves" : "products").size());
  }
}

TEST(ClippingExperiment, QuickRunPassesEveryVerdict) {
  const ExperimentResult result = run_quick_experiment("clipping");
  EXPECT_EQ(result.verdicts.size(), 3u);
  ASSERT_EQ(result.figures.size(), 1u);
  EXPECT_EQ(result.figures[0].name, "trace");
  const long steps = result.settings["steps"].get<long>();
  EXPECT_EQ(result_table(result, "trace").size(), static_cast<std::size_t>(2 * steps));
  EXPECT_EQ(result_table(result, "summary").size(), 2u);
  // One layer for the norms, one for the marked spikes.
  EXPECT_EQ(result.figures[0].spec["layer"].size(), 2u);
  EXPECT_EQ(result.figures[0].spec["data"]["values"].size(), static_cast<std::size_t>(2 * steps));
}

TEST(TbpttWindowExperiment, QuickRunPassesEveryVerdict) {
  const ExperimentResult result = run_quick_experiment("tbptt-window");
  EXPECT_EQ(result.verdicts.size(), 1u);
  ASSERT_EQ(result.figures.size(), 1u);
  EXPECT_EQ(result.figures[0].name, "grid");
  EXPECT_EQ(result.figures[0].spec["mark"], "rect");
  // Quick: windows 4, 7, 8, 15, 16 x lengths 8, 16.
  const std::size_t cells = result.settings["windows"].size() * result.settings["lengths"].size();
  EXPECT_EQ(cells, 10u);
  EXPECT_EQ(result_table(result, "grid").size(), cells);
  EXPECT_EQ(result.figures[0].spec["data"]["values"].size(), cells);
}

TEST(RnnHorizonExperiment, QuickRunPassesEveryVerdict) {
  const ExperimentResult result = run_quick_experiment("rnn-horizon");
  EXPECT_EQ(result.verdicts.size(), 2u);
  ASSERT_EQ(result.figures.size(), 2u);
  EXPECT_EQ(result.figures[0].name, "losses");
  EXPECT_EQ(result.figures[1].name, "curves");
  // Quick: 3 cells x T in {10, 20, 50}; curves of T = 50 at init and trained.
  EXPECT_EQ(result_table(result, "losses").size(), 3u * 3u);
  EXPECT_EQ(result_table(result, "curves").size(), 3u * 2u * 50u);
  EXPECT_EQ(result.figures[1].spec["data"]["values"].size(), 3u * 2u * 50u);
}

}  // namespace
}  // namespace gradscope::testing
