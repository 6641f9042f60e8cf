#include "gradscope/experiments/figure.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "gradscope/core/error.hpp"

namespace gradscope::figure {

namespace {

nlohmann::json axis_encoding(const Axis& axis, const char* type) {
  nlohmann::json encoding = {{"field", axis.field}, {"type", type}, {"title", axis.title}};
  nlohmann::json scale = nlohmann::json::object();
  if (axis.log) scale["type"] = "log";
  if (axis.domain) scale["domain"] = {axis.domain->first, axis.domain->second};
  if (std::string(type) == "quantitative" && !axis.log) scale["zero"] = false;
  if (!scale.empty()) encoding["scale"] = scale;
  // Log axes label powers of ten only, in exponent form (1e-12, not 0.000000000001).
  if (axis.log) encoding["axis"] = {{"format", "~e"}, {"tickCount", 8}};
  return encoding;
}

nlohmann::json tooltip(const DataTable& data) {
  nlohmann::json fields = nlohmann::json::array();
  for (const std::string& column : data.columns()) fields.push_back({{"field", column}});
  return fields;
}

nlohmann::json frame(const DataTable& data, const std::string& title, int width, int height) {
  return {{"$schema", kVegaLiteSchema},
          {"title", title},
          {"width", width},
          {"height", height},
          {"data", {{"values", data.records()}}}};
}

// The distinct values of `field` over `records`, ascending; each must be a number (> 0 on a log
// axis).
std::vector<double> distinct_values(const nlohmann::json& records, const Axis& axis) {
  std::vector<double> values;
  for (const nlohmann::json& record : records) {
    const nlohmann::json& value = record.at(axis.field);
    GRADSCOPE_CHECK(value.is_number(), "heat map column '{}' needs numbers", axis.field);
    const double v = value.get<double>();
    GRADSCOPE_CHECK(!axis.log || v > 0.0, "log axis '{}' needs values > 0", axis.field);
    values.push_back(v);
  }
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  GRADSCOPE_CHECK(!values.empty(), "heat map without cells");
  return values;
}

// Cell edges: halfway between neighbours (geometric halfway on a log axis); the outer cells are
// as wide as their inner half. edges[i], edges[i + 1] bound values[i].
std::vector<double> cell_edges(const std::vector<double>& values, bool log) {
  const auto to = [log](double v) { return log ? std::log(v) : v; };
  const auto from = [log](double u) { return log ? std::exp(u) : u; };
  const std::size_t n = values.size();
  std::vector<double> edges(n + 1);
  if (n == 1) {
    edges[0] = from(to(values[0]) - 0.5);
    edges[1] = from(to(values[0]) + 0.5);
    return edges;
  }
  for (std::size_t i = 1; i < n; ++i) edges[i] = from(0.5 * (to(values[i - 1]) + to(values[i])));
  edges[0] = from(2.0 * to(values[0]) - to(edges[1]));
  edges[n] = from(2.0 * to(values[n - 1]) - to(edges[n - 1]));
  return edges;
}

nlohmann::json positional(const Axis& axis, const std::string& field, double lo, double hi) {
  nlohmann::json scale = {{"domain", {lo, hi}}, {"nice", false}};
  if (axis.log) {
    scale["type"] = "log";
  } else {
    scale["zero"] = false;
  }
  return {{"field", field}, {"type", "quantitative"}, {"title", axis.title}, {"scale", scale}};
}

}  // namespace

nlohmann::json line_chart(const DataTable& data, const LineChart& chart) {
  nlohmann::json spec = frame(data, chart.title, chart.width, chart.height);
  spec["mark"] = {{"type", "line"}, {"point", chart.points}, {"clip", true}};
  nlohmann::json encoding = {{"x", axis_encoding(chart.x, "quantitative")},
                             {"y", axis_encoding(chart.y, "quantitative")},
                             {"tooltip", tooltip(data)}};
  if (!chart.series.empty()) {
    // Long series names (formulas) stay whole in a one-column legend under the plot.
    encoding["color"] = {{"field", chart.series},
                         {"type", "nominal"},
                         {"title", chart.series_title},
                         {"legend", {{"labelLimit", 480}, {"orient", "bottom"}, {"columns", 1}}}};
  }
  if (!chart.dash.empty()) {
    encoding["strokeDash"] = {{"field", chart.dash}, {"type", "nominal"}, {"title", nullptr}};
  }
  spec["encoding"] = encoding;
  return spec;
}

nlohmann::json heat_map(const DataTable& data, const HeatMap& map) {
  nlohmann::json spec = frame(data, map.title, map.width, map.height);
  spec["mark"] = "rect";
  nlohmann::json color = axis_encoding(map.color, "quantitative");
  color["scale"]["scheme"] = map.scheme;
  color.erase("axis");
  if (map.color.log) color["legend"] = {{"format", "~e"}};
  spec["encoding"] = {{"x", axis_encoding(map.x, "ordinal")},
                      {"y", axis_encoding(map.y, "ordinal")},
                      {"color", color},
                      {"tooltip", tooltip(data)}};
  // Rows drawn with the largest y at the top, as in a phase diagram.
  spec["encoding"]["y"]["sort"] = "descending";
  return spec;
}

nlohmann::json heat_map_with_lines(const DataTable& cells, const DataTable& lines,
                                   const HeatMapWithLines& map) {
  nlohmann::json records = cells.records();
  const std::vector<double> xs = distinct_values(records, map.x);
  const std::vector<double> ys = distinct_values(records, map.y);
  const std::vector<double> x_edges = cell_edges(xs, map.x.log);
  const std::vector<double> y_edges = cell_edges(ys, map.y.log);
  const std::string x_lo = map.x.field + "_lo", x_hi = map.x.field + "_hi";
  const std::string y_lo = map.y.field + "_lo", y_hi = map.y.field + "_hi";
  for (nlohmann::json& record : records) {
    const auto at = [](const std::vector<double>& values, double v) {
      return static_cast<std::size_t>(std::lower_bound(values.begin(), values.end(), v) -
                                      values.begin());
    };
    const std::size_t i = at(xs, record.at(map.x.field).get<double>());
    const std::size_t j = at(ys, record.at(map.y.field).get<double>());
    record[x_lo] = x_edges[i];
    record[x_hi] = x_edges[i + 1];
    record[y_lo] = y_edges[j];
    record[y_hi] = y_edges[j + 1];
  }

  nlohmann::json color = {{"field", map.color.field},
                          {"type", "quantitative"},
                          {"title", map.color.title},
                          {"scale", {{"scheme", map.scheme}}}};
  if (map.color.log) {
    color["scale"]["type"] = "log";
    color["legend"] = {{"format", "~e"}};
  }
  if (map.color.domain) {  // values outside take the end colours
    color["scale"]["domain"] = {map.color.domain->first, map.color.domain->second};
    color["scale"]["clamp"] = true;
  }
  if (map.color_mid) color["scale"]["domainMid"] = *map.color_mid;
  nlohmann::json x = positional(map.x, x_lo, x_edges.front(), x_edges.back());
  nlohmann::json y = positional(map.y, y_lo, y_edges.front(), y_edges.back());
  // The cells are the chart's data (the rect layer inherits it); the lines bring their own.
  const nlohmann::json cell_layer = {{"mark", "rect"},
                                     {"encoding",
                                      {{"x", x},
                                       {"x2", {{"field", x_hi}}},
                                       {"y", y},
                                       {"y2", {{"field", y_hi}}},
                                       {"color", color},
                                       {"tooltip", tooltip(cells)}}}};

  x["field"] = map.lines.x;
  y["field"] = map.lines.y;
  nlohmann::json line_encoding = {{"x", x}, {"y", y}, {"tooltip", tooltip(lines)}};
  if (!map.lines.series.empty()) {
    line_encoding["strokeDash"] = {{"field", map.lines.series},
                                   {"type", "nominal"},
                                   {"title", map.lines.series_title},
                                   {"legend", {{"labelLimit", 480}, {"orient", "bottom"}}}};
  }
  if (!map.lines.order.empty()) {
    line_encoding["order"] = {{"field", map.lines.order}, {"type", "quantitative"}};
  }
  const nlohmann::json line_layer = {
      {"data", {{"values", lines.records()}}},
      {"mark", {{"type", "line"}, {"color", "black"}, {"strokeWidth", 2}, {"clip", true}}},
      {"encoding", line_encoding}};

  return {{"$schema", kVegaLiteSchema},
          {"title", map.title},
          {"width", map.width},
          {"height", map.height},
          {"data", {{"values", records}}},
          {"layer", {cell_layer, line_layer}}};
}

}  // namespace gradscope::figure
