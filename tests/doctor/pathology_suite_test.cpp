// evaluate_suite with an injected case runner: every case is run once, in order, diagnosed both
// ways and scored; its training time adds up; the JSON has the shape `doctor --evaluate --json`
// prints.
#include "gradscope/doctor/pathology_suite.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gradscope {
namespace {

TEST(PathologySuite, EvaluateRunsEveryCaseAndScoresIt) {
  const std::vector<PathologyCase> suite = {
      {"fine", std::string(kHealthy), "a healthy run", {{"--depth", "3"}}},
      {"deep", std::string(kVanishingGradient), "two runs", {{"--depth", "20"}, {"--depth", "30"}}},
  };
  std::vector<std::string> ran;
  // No logged runs: both doctors call every case healthy.
  const CaseRunner runner = [&ran](const PathologyCase& c, double& seconds) {
    ran.push_back(c.name);
    seconds += 1.5 * static_cast<double>(c.runs.size());
    return std::vector<LoggedRun>{};
  };
  std::vector<std::string> seen;
  const SuiteEvaluation evaluation =
      evaluate_suite(suite, runner, [&seen](const CaseOutcome& c) { seen.push_back(c.name); });

  EXPECT_EQ(ran, (std::vector<std::string>{"fine", "deep"}));
  EXPECT_EQ(seen, ran);
  ASSERT_EQ(evaluation.cases.size(), 2U);
  EXPECT_EQ(evaluation.cases[1].expected, kVanishingGradient);
  EXPECT_EQ(evaluation.cases[1].ours, kHealthy);
  EXPECT_EQ(evaluation.cases[1].autotrainer, kHealthy);
  EXPECT_DOUBLE_EQ(evaluation.cases[1].seconds, 3.0);
  EXPECT_DOUBLE_EQ(evaluation.seconds, 4.5);
  EXPECT_EQ(evaluation.ours.correct(), 1);
  EXPECT_EQ(evaluation.ours.total(), 2);
  EXPECT_EQ(evaluation.autotrainer.correct(), 1);

  const nlohmann::json json = evaluation.to_json();
  EXPECT_EQ(json["cases"].size(), 2U);
  EXPECT_EQ(json["cases"][0]["name"], "fine");
  EXPECT_EQ(json["ours"]["correct"], 1);
  EXPECT_EQ(json["autotrainer"]["total"], 2);
  EXPECT_DOUBLE_EQ(json["seconds"].get<double>(), 4.5);
}

}  // namespace
}  // namespace gradscope
