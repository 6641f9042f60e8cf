// figure::heat_map_with_lines: one layered chart, cells spanning halfway to their neighbours (on
// log axes geometrically), and the lines on the same axes.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "gradscope/experiments/figure.hpp"

namespace gradscope {
namespace {

TEST(HeatMapWithLines, CellsMeetHalfwayAndLinesShareTheAxes) {
  DataTable cells("cells", {"w", "depth", "loss"});
  for (double w : {1.0, 2.0, 4.0}) {
    for (int depth : {10, 40}) cells.add_row({w, depth, w * depth});
  }
  DataTable lines("lines", {"w", "bound"});
  lines.add_row({1.0, 20.0});
  lines.add_row({4.0, 30.0});
  figure::HeatMapWithLines map;
  map.title = "t";
  map.x = {"w", "sigma_w^2"};
  map.y = {"depth", "depth", true};
  map.color = {"loss", "loss", true};
  map.scheme = "redblue";
  map.color_mid = 0.5;
  map.lines.x = "w";
  map.lines.y = "bound";
  const nlohmann::json spec = figure::heat_map_with_lines(cells, lines, map);

  ASSERT_EQ(spec["layer"].size(), 2u);
  const nlohmann::json& rects = spec["layer"][0];
  EXPECT_EQ(rects["mark"], "rect");
  EXPECT_FALSE(rects.contains("data"));  // the cells are the chart's data
  ASSERT_EQ(spec["data"]["values"].size(), 6u);
  // x = 1, 2, 4: edges 0.5 | 1.5 | 3 | 5 (linear); depth = 10, 40: edges 5 | 20 | 80 (log).
  const nlohmann::json& first = spec["data"]["values"][0];
  EXPECT_DOUBLE_EQ(first["w_lo"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(first["w_hi"].get<double>(), 1.5);
  EXPECT_NEAR(first["depth_lo"].get<double>(), 5.0, 1e-12);
  EXPECT_NEAR(first["depth_hi"].get<double>(), 20.0, 1e-12);
  const nlohmann::json& x = rects["encoding"]["x"];
  EXPECT_EQ(x["field"], "w_lo");
  EXPECT_EQ(rects["encoding"]["x2"]["field"], "w_hi");
  EXPECT_DOUBLE_EQ(x["scale"]["domain"][0].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(x["scale"]["domain"][1].get<double>(), 5.0);
  EXPECT_EQ(rects["encoding"]["y"]["scale"]["type"], "log");
  EXPECT_NEAR(rects["encoding"]["y"]["scale"]["domain"][1].get<double>(), 80.0, 1e-12);
  EXPECT_EQ(rects["encoding"]["color"]["scale"]["scheme"], "redblue");
  EXPECT_EQ(rects["encoding"]["color"]["scale"]["type"], "log");
  EXPECT_DOUBLE_EQ(rects["encoding"]["color"]["scale"]["domainMid"].get<double>(), 0.5);

  const nlohmann::json& line = spec["layer"][1];
  EXPECT_EQ(line["mark"]["type"], "line");
  EXPECT_EQ(line["data"]["values"].size(), 2u);
  EXPECT_EQ(line["encoding"]["y"]["field"], "bound");
  // The same scales as the cells: same domain and type, so both layers share one y axis.
  EXPECT_EQ(line["encoding"]["y"]["scale"], rects["encoding"]["y"]["scale"]);
  EXPECT_EQ(line["encoding"]["x"]["title"], "sigma_w^2");
}

TEST(HeatMapWithLines, NonNumericCellsAreAnInternalError) {
  DataTable cells("cells", {"w", "depth", "loss"});
  cells.add_row({"one", 10, 1.0});
  DataTable lines("lines", {"w", "bound"});
  figure::HeatMapWithLines map;
  map.x = {"w", "w"};
  map.y = {"depth", "depth"};
  map.color = {"loss", "loss"};
  map.lines.x = "w";
  map.lines.y = "bound";
  EXPECT_ANY_THROW(figure::heat_map_with_lines(cells, lines, map));
}

}  // namespace
}  // namespace gradscope
