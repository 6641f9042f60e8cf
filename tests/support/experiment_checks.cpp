#include "support/experiment_checks.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <stdexcept>

#include "gradscope/experiments/registry.hpp"
#include "support/shell.hpp"

namespace gradscope::testing {

ExperimentResult run_quick_experiment(const std::string& name) {
  const TempDir out;  // for what an experiment writes beside its result (run logs)
  ExperimentContext context;
  context.out_dir = out.path();
  context.quick = true;
  context.seed = 0;
  long last_done = -1;
  long last_total = -1;
  context.progress = [&](long done, long total) {
    EXPECT_LE(done, total);
    last_done = done;
    last_total = total;
  };
  ExperimentResult result = make_experiment(name)->run(context);
  EXPECT_EQ(last_done, last_total) << name << ": progress ends at its total";
  for (const Verdict& v : result.verdicts) {
    std::printf("%s | %s: measured %.6g, expected %.6g +- %.3g %s -> %s\n", name.c_str(),
                v.name.c_str(), v.measured, v.expected, v.tolerance, v.units.c_str(),
                v.pass ? "PASS" : "FAIL");
    EXPECT_TRUE(v.pass) << name << ": " << v.name << " measured " << v.measured;
  }
  EXPECT_TRUE(result.passed()) << name;
  return result;
}

const DataTable& result_table(const ExperimentResult& result, const std::string& name) {
  for (const DataTable& table : result.tables) {
    if (table.name() == name) return table;
  }
  throw std::runtime_error("no table " + name);
}

std::set<std::string> verdict_names(const ExperimentResult& result) {
  std::set<std::string> names;
  for (const Verdict& v : result.verdicts) names.insert(v.name);
  return names;
}

void expect_figures(const ExperimentResult& result, const std::vector<std::string>& expected) {
  ASSERT_EQ(result.figures.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(result.figures[i].name, expected[i]);
    EXPECT_FALSE(result.figures[i].spec["data"]["values"].empty()) << expected[i];
  }
}

}  // namespace gradscope::testing
