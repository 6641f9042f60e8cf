// The edge-of-chaos experiment runs as `experiment all --quick` runs it: every verdict passes, and
// the tables and figures have the shapes the report expects.
#include <gtest/gtest.h>

#include "support/experiment_checks.hpp"

namespace gradscope::testing {
namespace {

TEST(EdgeOfChaosExperiment, QuickRunPassesEveryVerdict) {
  const ExperimentResult result = run_quick_experiment("edge-of-chaos");
  EXPECT_EQ(
      verdict_names(result),
      (std::set<std::string>{"chi_1 sigma_w^2=1.00", "chi_1 sigma_w^2=1.50", "chi_1 sigma_w^2=1.76",
                             "chi_1 sigma_w^2=3.00", "critical sigma_w^2 at sigma_b^2=0.05",
                             "cells matching the L <= 6 xi_c rule", "trains at L <= 3 xi_c",
                             "fails at L >= 15 xi_c", "critical trains depth=48"}));
  EXPECT_EQ(result_table(result, "phase").size(), 15U * 7U);  // sigma_w^2 x sigma_b^2
  EXPECT_EQ(result_table(result, "critical_line").size(), 31U);
  EXPECT_EQ(result_table(result, "depth_scale").size(), 173U);
  EXPECT_EQ(result_table(result, "chi1_check").size(), 4U);
  EXPECT_EQ(result_table(result, "profiles").size(), 4U * 2U * 31U);  // nets x sources x layers
  EXPECT_EQ(result_table(result, "trainability").size(), 3U * 4U);    // sigma_w^2 x depths
  expect_figures(result, {"phase_diagram", "depth_scale", "profiles", "trainability"});
}

}  // namespace
}  // namespace gradscope::testing
