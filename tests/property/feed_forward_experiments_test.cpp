// The feed-forward depth experiments (relu-init, residual-depth, normalization) run as
// `experiment all --quick` runs them: every verdict passes, and the tables and figures have the
// shapes the report expects.
#include <gtest/gtest.h>

#include "support/experiment_checks.hpp"

namespace gradscope::testing {
namespace {

TEST(FeedForwardExperiments, ReluInitQuickPasses) {
  const ExperimentResult result = run_quick_experiment("relu-init");
  EXPECT_EQ(verdict_names(result),
            (std::set<std::string>{"He trains", "Xavier stalls", "He below Xavier",
                                   "Xavier ratio at init", "He ratio at init"}));
  EXPECT_EQ(result_table(result, "summary").size(), 4U);  // four nets
  EXPECT_EQ(result_table(result, "profiles").size(),
            4U * 2U * 30U);  // nets x (init, trained) x layers
  EXPECT_EQ(result_table(result, "losses").size(), 4U * (500U / 10U));  // nets x 10-step windows
  expect_figures(result, {"profiles", "losses"});
}

TEST(FeedForwardExperiments, ResidualDepthQuickPasses) {
  const ExperimentResult result = run_quick_experiment("residual-depth");
  EXPECT_EQ(verdict_names(result),
            (std::set<std::string>{"residual ratio depth=64", "ReZero ratio depth=64",
                                   "residual ratio depth=200", "ReZero ratio depth=200",
                                   "residual trains depth=200", "ReZero trains depth=200",
                                   "plain ratio depth=200", "plain stalls depth=200"}));
  EXPECT_EQ(result_table(result, "depths").size(), 2U * 4U);  // quick depths x nets
  expect_figures(result, {"ratios", "losses"});
}

TEST(FeedForwardExperiments, NormalizationQuickPasses) {
  const ExperimentResult result = run_quick_experiment("normalization");
  EXPECT_EQ(verdict_names(result),
            (std::set<std::string>{"batch norm spread", "layer norm spread", "plain spread",
                                   "weight norm = plain at init"}));
  EXPECT_EQ(result_table(result, "summary").size(), 5U);
  EXPECT_EQ(result_table(result, "spreads").size(), 5U * (1U + 300U / 30U));  // nets x probed steps
  EXPECT_EQ(result_table(result, "profiles").size(), 5U * 30U);               // nets x layers
  expect_figures(result, {"spreads", "profiles"});
}

}  // namespace
}  // namespace gradscope::testing
