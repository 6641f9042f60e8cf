#include "gradscope/sweep/pivot.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "gradscope/core/error.hpp"
#include "gradscope/sweep/result_file.hpp"

namespace gradscope {
namespace {

using ordered_json = nlohmann::ordered_json;

// depth {2, 4} x act {tanh, relu} x seeds {0, 1}; result loss = depth * (relu ? 10 : 1) + seed,
// ratio = 10^depth; point 7 (depth 4, relu, seed 1) failed.
std::vector<ordered_json> records() {
  Grid grid;
  grid.command = "probe";
  grid.axes = {GridAxis{"depth", {ordered_json(2), ordered_json(4)}},
               GridAxis{"act", {ordered_json("tanh"), ordered_json("relu")}}};
  grid.seeds = {0, 1};
  std::vector<ordered_json> out;
  for (const SweepPoint& p : enumerate_points(grid)) {
    const double depth = p.settings["depth"].get<double>();
    const double loss =
        depth * (p.settings["act"] == "relu" ? 10.0 : 1.0) + p.settings["seed"].get<double>();
    if (p.index == 7) {
      out.push_back(failed_record("probe", p, "non-finite loss"));
    } else {
      out.push_back(ok_record("probe", p,
                              {{"loss", loss},
                               {"ratio_first_last", std::pow(10.0, depth)},
                               {"test", {{"loss", loss}}}}));
    }
  }
  return out;
}

TEST(Pivot, MeanOverSeedsSkippingFailedPoints) {
  const PivotTable table = pivot_results(records(), "depth", "act", "test.loss");
  EXPECT_EQ(table.row_values, (std::vector<ordered_json>{2, 4}));
  EXPECT_EQ(table.col_values, (std::vector<ordered_json>{"tanh", "relu"}));
  EXPECT_DOUBLE_EQ(*table.mean[0][0], 2.5);
  EXPECT_DOUBLE_EQ(*table.mean[0][1], 20.5);
  EXPECT_DOUBLE_EQ(*table.mean[1][0], 4.5);
  EXPECT_DOUBLE_EQ(*table.mean[1][1], 40.0);  // only seed 0: seed 1 failed
  EXPECT_EQ(table.count[1][1], 1);
  EXPECT_EQ(table.averaged_over, (std::vector<std::string>{"seed"}));
}

TEST(Pivot, Log10AndOtherAxesAveragedOver) {
  const PivotTable table = pivot_results(records(), "depth", "seed", "log10(ratio_first_last)");
  EXPECT_DOUBLE_EQ(*table.mean[0][0], 2.0);
  EXPECT_DOUBLE_EQ(*table.mean[1][1], 4.0);
  EXPECT_EQ(table.averaged_over, (std::vector<std::string>{"act"}));
  EXPECT_EQ(to_json(table)["mean"][1][0], 4.0);
}

TEST(Pivot, DefaultsPerCommand) {
  EXPECT_EQ(default_pivot_value("probe"), "log10(ratio_first_last)");
  EXPECT_EQ(default_pivot_value("train"), "test.loss");
}

TEST(Pivot, BadAxisOrFieldIsBadInput) {
  try {
    pivot_results(records(), "width", "act", "loss");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_THAT(e.what(), ::testing::HasSubstr("'width' is not a setting"));
  }
  try {
    pivot_results(records(), "depth", "act", "final_loss");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_THAT(e.what(), ::testing::HasSubstr("--value final_loss"));
  }
}

}  // namespace
}  // namespace gradscope
