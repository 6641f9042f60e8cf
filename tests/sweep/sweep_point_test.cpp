#include "gradscope/sweep/sweep_point.hpp"

#include <gtest/gtest.h>

namespace gradscope {
namespace {

Grid two_by_two() {
  Grid grid;
  grid.command = "probe";
  grid.base = {{"width", 8}, {"residual", false}};
  grid.axes = {GridAxis{"depth", {nlohmann::ordered_json(2), nlohmann::ordered_json(4)}},
               GridAxis{"act",
                        {nlohmann::ordered_json("tanh"), nlohmann::ordered_json("relu"),
                         nlohmann::ordered_json("gelu")}}};
  grid.seeds = {7, 9};
  return grid;
}

TEST(SweepPoint, CountsEveryCombinationTimesEverySeed) {
  EXPECT_EQ(count_points(two_by_two()), 12u);
  Grid no_axes;
  no_axes.seeds = {0, 1, 2};
  EXPECT_EQ(count_points(no_axes), 3u);
  EXPECT_EQ(enumerate_points(no_axes).size(), 3u);
}

TEST(SweepPoint, FirstAxisSlowestSeedFastest) {
  const std::vector<SweepPoint> points = enumerate_points(two_by_two());
  ASSERT_EQ(points.size(), 12u);
  for (std::size_t i = 0; i < points.size(); ++i) EXPECT_EQ(points[i].index, static_cast<long>(i));
  EXPECT_EQ(points[0].settings.dump(),
            R"({"width":8,"residual":false,"depth":2,"act":"tanh","seed":7})");
  EXPECT_EQ(points[1].settings["seed"], 9);
  EXPECT_EQ(points[2].settings["act"], "relu");
  EXPECT_EQ(points[5].settings["act"], "gelu");
  EXPECT_EQ(points[6].settings["depth"], 4);
  EXPECT_EQ(points[6].settings["act"], "tanh");
  EXPECT_EQ(points[11].settings.dump(),
            R"({"width":8,"residual":false,"depth":4,"act":"gelu","seed":9})");
}

TEST(SweepPoint, ArgumentsSpellSwitchesAndValues) {
  nlohmann::ordered_json settings = {
      {"width", 8}, {"residual", true}, {"no-bias", false}, {"sigma-w2", 1.5}, {"act", "relu"}};
  EXPECT_EQ(point_arguments("probe", settings),
            (std::vector<std::string>{"probe", "--width", "8", "--residual", "--sigma-w2", "1.5",
                                      "--act", "relu"}));
}

}  // namespace
}  // namespace gradscope
