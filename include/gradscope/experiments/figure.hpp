// Small builders for the experiments' figures: Vega-Lite v5 specs with the data inline, so a
// figure is one self-contained JSON file that the report embeds and report/render_svg.mjs turns
// into SVG. Each builder takes a DataTable and names its columns; the spec can be edited after.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "gradscope/experiments/experiment.hpp"

namespace gradscope::figure {

inline constexpr const char* kVegaLiteSchema = "https://vega.github.io/schema/vega-lite/v5.json";

struct Axis {
  Axis() = default;
  Axis(std::string field_name, std::string axis_title, bool log_scale = false)
      : field(std::move(field_name)), title(std::move(axis_title)), log(log_scale) {}

  std::string field;  // a column of the table
  std::string title;
  bool log = false;  // log scale (values must be > 0)
  std::optional<std::pair<double, double>> domain;
};

struct LineChart {
  std::string title;
  Axis x;
  Axis y;
  std::string series;        // column naming each line ("" for a single line)
  std::string series_title;  // legend title
  std::string dash;          // optional column: lines with equal values share a dash pattern
  bool points = true;        // a point at every datum
  int width = 560;
  int height = 320;
};

// One line per distinct value of `series`, x and y quantitative, a tooltip with every column.
nlohmann::json line_chart(const DataTable& data, const LineChart& chart);

struct HeatMap {
  std::string title;
  Axis x;  // binned by value: each distinct x and y is one cell (ordinal axes)
  Axis y;
  Axis color;  // quantitative; log honoured
  std::string scheme = "viridis";
  int width = 420;
  int height = 320;
};

nlohmann::json heat_map(const DataTable& data, const HeatMap& map);

// Lines drawn over a heat map: columns of their own table.
struct LineOverlay {
  std::string x;       // column on the heat map's x axis
  std::string y;       // column on the heat map's y axis
  std::string series;  // column: one line per value, told apart by dash ("" for a single line)
  std::string series_title;
  std::string order;  // column giving the order in which points are joined ("": by x)
};

struct HeatMapWithLines {
  std::string title;
  Axis x;  // quantitative, log honoured: each distinct value is one cell, reaching halfway to its
  Axis y;  // neighbours (geometric halfway on a log axis), so uneven grids draw without gaps
  Axis color;  // quantitative; log honoured
  std::string scheme = "viridis";
  std::optional<double> color_mid;  // the colour value at a diverging scheme's middle
  LineOverlay lines;
  int width = 420;
  int height = 320;
};

// A layered spec, one chart: rects for the cells of `cells` (numeric x and y; the axes span the
// cells exactly, lines beyond them are clipped), then the lines of `lines` in black on top. The
// chart's data are the cells, each with its edges added as <x>_lo, <x>_hi, <y>_lo, <y>_hi; the
// line layer has its own.
nlohmann::json heat_map_with_lines(const DataTable& cells, const DataTable& lines,
                                   const HeatMapWithLines& map);

}  // namespace gradscope::figure
