// diagnosis in quick mode: every verdict passes, the doctor's findings are in the table, and
// the run logs it read are left in the experiment's folder.
#include <gtest/gtest.h>

#include "support/experiment_checks.hpp"

namespace gradscope::testing {
namespace {

TEST(DiagnosisExperiment, QuickRunPassesEveryVerdict) {
  const ExperimentResult result = run_quick_experiment("diagnosis");
  EXPECT_EQ(
      verdict_names(result),
      (std::set<std::string>{
          "loss-flat read as vanishing_gradient", "loss-flat: early layers 10^-6 of late ones",
          "loss-flat: loss not decreasing", "loss-flat: parameters near initialization",
          "loss-diverges read as exploding_gradient", "loss-diverges: NaNs appear",
          "long-sequences-plateau read as vanishing_through_time",
          "long-sequences-plateau: short sequences learn",
          "long-sequences-plateau: long sequences plateau"}));
  const nlohmann::json findings = result_table(result, "findings").records();
  ASSERT_EQ(findings.size(), 3U);
  for (const nlohmann::json& row : findings) {
    EXPECT_EQ(row["primary"], row["expected"]) << row.dump();
    EXPECT_FALSE(row["flags"].get<std::string>().empty()) << row.dump();  // a prescription
  }
  EXPECT_EQ(result_table(result, "profile").size(), 20U);  // one norm per layer
  expect_figures(result, {"losses", "profile"});
}

}  // namespace
}  // namespace gradscope::testing
