// dynamical-isometry in quick mode: every verdict passes, and the tables and figures have the
// shapes docs/experiments.md describes.
#include <gtest/gtest.h>

#include "support/experiment_checks.hpp"

namespace gradscope::testing {
namespace {

TEST(DynamicalIsometryExperiment, QuickRunPassesEveryVerdict) {
  const ExperimentResult result = run_quick_experiment("dynamical-isometry");
  EXPECT_EQ(verdict_names(result),
            (std::set<std::string>{"orthogonal variance depth=10", "gaussian variance depth=10",
                                   "orthogonal bulk depth=1000", "gaussian bulk depth=1000",
                                   "orthogonal signal direction depth=1000",
                                   "orthogonal trains depth=1000", "gaussian stalls depth=1000"}));
  // Quick: two inits x depths 10, 100, 1000, every singular value of a 128-wide Jacobian.
  EXPECT_EQ(result_table(result, "spectra").size(), 2U * 3U * 128U);
  EXPECT_EQ(result_table(result, "summary").size(), 2U * 3U);
  // Two inits x an evaluation every 15 of 150 steps.
  EXPECT_EQ(result_table(result, "training").size(), 2U * 10U);
  expect_figures(result, {"spectrum_orthogonal", "spectrum_gaussian", "training"});
  // Each spectrum figure carries its own init's rows only.
  EXPECT_EQ(result.figures[0].spec["data"]["values"].size(), 3U * 128U);
}

}  // namespace
}  // namespace gradscope::testing
