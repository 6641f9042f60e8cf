// The points of a grid: every combination of the axes' values, times every seed, numbered in
// a fixed order (the first axis varies slowest, the seed fastest), each with its full settings.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gradscope/sweep/grid.hpp"

namespace gradscope {

struct SweepPoint {
  long index = 0;
  // The base flags, then the axes' values, then "seed", in file order: everything the command
  // is run with.
  nlohmann::ordered_json settings;
};

// Number of points: product of the axes' sizes times the number of seeds.
std::size_t count_points(const Grid& grid);
std::vector<SweepPoint> enumerate_points(const Grid& grid);

// The command line of a point, without the executable: {command, "--depth", "8", ...}; a switch
// set to true is "--flag" alone, a switch set to false is left out.
std::vector<std::string> point_arguments(const std::string& command,
                                         const nlohmann::ordered_json& settings);

}  // namespace gradscope
