#include "gradscope/sweep/sweep_point.hpp"

namespace gradscope {

std::size_t count_points(const Grid& grid) {
  std::size_t count = grid.seeds.size();
  for (const GridAxis& axis : grid.axes) count *= axis.values.size();
  return count;
}

std::vector<SweepPoint> enumerate_points(const Grid& grid) {
  const std::size_t total = count_points(grid);
  std::vector<SweepPoint> points;
  points.reserve(total);
  // Mixed-radix counting: the last axis of the digits (the seed) varies fastest.
  std::vector<std::size_t> digit(grid.axes.size() + 1, 0);
  for (std::size_t n = 0; n < total; ++n) {
    SweepPoint point;
    point.index = static_cast<long>(n);
    point.settings = nlohmann::ordered_json::object();
    for (const auto& [flag, value] : grid.base) point.settings[flag] = value;
    for (std::size_t a = 0; a < grid.axes.size(); ++a) {
      point.settings[grid.axes[a].name] = grid.axes[a].values[digit[a]];
    }
    point.settings["seed"] = grid.seeds[digit.back()];
    points.push_back(std::move(point));
    for (std::size_t d = digit.size(); d-- > 0;) {
      const std::size_t radix =
          d < grid.axes.size() ? grid.axes[d].values.size() : grid.seeds.size();
      if (++digit[d] < radix) break;
      digit[d] = 0;
    }
  }
  return points;
}

std::vector<std::string> point_arguments(const std::string& command,
                                         const nlohmann::ordered_json& settings) {
  std::vector<std::string> args = {command};
  for (const auto& [flag, value] : settings.items()) {
    if (value.is_boolean()) {
      if (value.get<bool>()) args.push_back("--" + flag);
      continue;
    }
    args.push_back("--" + flag);
    args.push_back(flag_argument(value));
  }
  return args;
}

}  // namespace gradscope
