#include "gradscope/experiments/figure.hpp"

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

}  // namespace gradscope::figure
