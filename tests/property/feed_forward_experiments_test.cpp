// The feed-forward depth experiments (relu-init, residual-depth, normalization) run as
// `experiment all --quick` runs them: every verdict passes, and the tables and figures have the
// shapes the report expects.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "gradscope/experiments/registry.hpp"

namespace gradscope {
namespace {

ExperimentResult run_quick(const std::string& name) {
  ExperimentContext context;
  context.quick = true;
  context.seed = 0;
  const ExperimentResult result = make_experiment(name)->run(context);
  for (const Verdict& v : result.verdicts) {
    std::printf("%s / %-28s measured %.4g, expected %.4g +- %.4g: %s\n", name.c_str(),
                v.name.c_str(), v.measured, v.expected, v.tolerance, v.pass ? "PASS" : "FAIL");
    EXPECT_TRUE(v.pass) << name << ": " << v.name << " measured " << v.measured;
  }
  EXPECT_TRUE(result.passed());
  return result;
}

const DataTable& table(const ExperimentResult& result, const std::string& name) {
  const auto it = std::find_if(result.tables.begin(), result.tables.end(),
                               [&](const DataTable& t) { return t.name() == name; });
  if (it == result.tables.end()) throw std::runtime_error("no table " + name);
  return *it;
}

std::set<std::string> names(const ExperimentResult& result) {
  std::set<std::string> out;
  for (const Verdict& v : result.verdicts) out.insert(v.name);
  return out;
}

void expect_figures(const ExperimentResult& result, const std::vector<std::string>& expected) {
  ASSERT_EQ(result.figures.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(result.figures[i].name, expected[i]);
    EXPECT_FALSE(result.figures[i].spec["data"]["values"].empty()) << expected[i];
  }
}

TEST(FeedForwardExperiments, ReluInitQuickPasses) {
  const ExperimentResult result = run_quick("relu-init");
  EXPECT_EQ(names(result), (std::set<std::string>{"He trains", "Xavier stalls", "He below Xavier",
                                                  "Xavier ratio at init", "He ratio at init"}));
  EXPECT_EQ(table(result, "summary").size(), 4U);                // four nets
  EXPECT_EQ(table(result, "profiles").size(), 4U * 2U * 30U);    // nets x (init, trained) x layers
  EXPECT_EQ(table(result, "losses").size(), 4U * (500U / 10U));  // nets x 10-step windows
  expect_figures(result, {"profiles", "losses"});
}

TEST(FeedForwardExperiments, ResidualDepthQuickPasses) {
  const ExperimentResult result = run_quick("residual-depth");
  EXPECT_EQ(names(result),
            (std::set<std::string>{"residual ratio depth=64", "ReZero ratio depth=64",
                                   "residual ratio depth=200", "ReZero ratio depth=200",
                                   "residual trains depth=200", "ReZero trains depth=200",
                                   "plain ratio depth=200", "plain stalls depth=200"}));
  EXPECT_EQ(table(result, "depths").size(), 2U * 4U);  // quick depths x nets
  expect_figures(result, {"ratios", "losses"});
}

TEST(FeedForwardExperiments, NormalizationQuickPasses) {
  const ExperimentResult result = run_quick("normalization");
  EXPECT_EQ(names(result), (std::set<std::string>{"batch norm spread", "layer norm spread",
                                                  "plain spread", "weight norm = plain at init"}));
  EXPECT_EQ(table(result, "summary").size(), 5U);
  EXPECT_EQ(table(result, "spreads").size(), 5U * (1U + 300U / 30U));  // nets x probed steps
  EXPECT_EQ(table(result, "profiles").size(), 5U * 30U);               // nets x layers
  expect_figures(result, {"spreads", "profiles"});
}

}  // namespace
}  // namespace gradscope
