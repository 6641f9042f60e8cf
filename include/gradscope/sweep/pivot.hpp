// A sweep's results as a table pivoted on two settings: one row per value of `rows`, one
// column per value of `cols` (in the order the points first show them), each cell the mean of
// one result field over the ok points with that pair of values (over the seeds, and over any
// other axis, which the table names).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace gradscope {

struct PivotTable {
  std::string rows;
  std::string cols;
  std::string value;  // as asked: "test.loss", "log10(ratio_first_last)"
  std::vector<nlohmann::ordered_json> row_values;
  std::vector<nlohmann::ordered_json> col_values;
  std::vector<std::vector<std::optional<double>>> mean;  // [row][col]; empty cell: nullopt
  std::vector<std::vector<long>> count;                  // points averaged per cell
  std::vector<std::string> averaged_over;                // other settings that vary
};

// The result field a command's summary shows by default.
std::string default_pivot_value(const std::string& command);

// `value` is a dotted path into each record's "result" ("test.loss", "layers.0.grad_norm"),
// optionally wrapped in log10(...). Bad-input Error when `rows` or `cols` is not a setting of
// the records, or the field is a number in none of the ok records.
PivotTable pivot_results(const std::vector<nlohmann::ordered_json>& records,
                         const std::string& rows, const std::string& cols,
                         const std::string& value);

nlohmann::ordered_json to_json(const PivotTable& table);

}  // namespace gradscope
