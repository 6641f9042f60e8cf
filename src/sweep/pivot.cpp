#include "gradscope/sweep/pivot.hpp"

#include <cmath>
#include <sstream>

#include "gradscope/core/error.hpp"

namespace gradscope {

namespace {

using ordered_json = nlohmann::ordered_json;

struct ValuePath {
  std::vector<std::string> parts;
  bool log10 = false;
};

ValuePath parse_value_path(const std::string& value) {
  ValuePath path;
  std::string field = value;
  if (field.rfind("log10(", 0) == 0 && field.size() > 7 && field.back() == ')') {
    path.log10 = true;
    field = field.substr(6, field.size() - 7);
  }
  std::stringstream parts(field);
  for (std::string part; std::getline(parts, part, '.');) {
    if (part.empty()) throw_bad_input("--value {}: empty field name", value);
    path.parts.push_back(part);
  }
  if (path.parts.empty()) throw_bad_input("--value {}: empty field name", value);
  return path;
}

// The number at `path` in `result`, if there is one (and, for log10, if it is positive).
std::optional<double> lookup(const ordered_json& result, const ValuePath& path) {
  const ordered_json* at = &result;
  for (const std::string& part : path.parts) {
    if (at->is_object() && at->contains(part)) {
      at = &(*at)[part];
    } else if (at->is_array() && !part.empty() &&
               part.find_first_not_of("0123456789") == std::string::npos &&
               std::stoul(part) < at->size()) {
      at = &(*at)[std::stoul(part)];
    } else {
      return std::nullopt;
    }
  }
  if (!at->is_number()) return std::nullopt;
  const double number = at->get<double>();
  if (!path.log10) return number;
  if (!(number > 0.0)) return std::nullopt;
  return std::log10(number);
}

// Index of `value` in `values`, appended when new.
std::size_t slot(std::vector<ordered_json>& values, const ordered_json& value) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] == value) return i;
  }
  values.push_back(value);
  return values.size() - 1;
}

}  // namespace

std::string default_pivot_value(const std::string& command) {
  if (command == "train") return "test.loss";
  if (command == "spectrum") return "product.measured_log10_ratio";
  return "log10(ratio_first_last)";
}

PivotTable pivot_results(const std::vector<ordered_json>& records, const std::string& rows,
                         const std::string& cols, const std::string& value) {
  if (records.empty()) throw_bad_input("the results file holds no points");
  const ValuePath path = parse_value_path(value);
  for (const std::string& axis : {rows, cols}) {
    bool found = false;
    for (const ordered_json& record : records) found = found || record["settings"].contains(axis);
    if (!found) {
      std::string known;
      for (const auto& entry : records.front()["settings"].items()) {
        if (!known.empty()) known += ", ";
        known += entry.key();
      }
      throw_bad_input("'{}' is not a setting of these points (they have: {})", axis, known);
    }
  }
  PivotTable table;
  table.rows = rows;
  table.cols = cols;
  table.value = value;
  struct Cell {
    double sum = 0.0;
    long count = 0;
  };
  std::vector<std::vector<Cell>> cells;
  // Settings that vary among the records, other than rows and cols: averaged over.
  std::vector<std::string> varying;
  const ordered_json& first = records.front()["settings"];
  bool any_value = false;
  for (const ordered_json& record : records) {
    const ordered_json& settings = record["settings"];
    for (const auto& entry : settings.items()) {
      const std::string& name = entry.key();
      if (name == rows || name == cols) continue;
      const bool differs = !first.contains(name) || first[name] != entry.value();
      bool listed = false;
      for (const std::string& v : varying) listed = listed || v == name;
      if (differs && !listed) varying.push_back(name);
    }
    const ordered_json row = settings.contains(rows) ? settings[rows] : ordered_json(nullptr);
    const ordered_json col = settings.contains(cols) ? settings[cols] : ordered_json(nullptr);
    const std::size_t r = slot(table.row_values, row);
    const std::size_t c = slot(table.col_values, col);
    if (cells.size() < table.row_values.size()) cells.resize(table.row_values.size());
    for (std::vector<Cell>& line : cells) line.resize(table.col_values.size());
    if (record["status"] != "ok" || !record.contains("result")) continue;
    const std::optional<double> number = lookup(record["result"], path);
    if (!number || !std::isfinite(*number)) continue;
    any_value = true;
    cells[r][c].sum += *number;
    ++cells[r][c].count;
  }
  if (!any_value) {
    throw_bad_input(
        "--value {}: no ok point has a number there (fields of the first result: {})", value,
        records.front().contains("result") ? records.front()["result"].dump().substr(0, 200)
                                           : std::string("none"));
  }
  table.averaged_over = varying;
  for (const std::vector<Cell>& line : cells) {
    std::vector<std::optional<double>> means;
    std::vector<long> counts;
    for (const Cell& cell : line) {
      means.push_back(cell.count > 0
                          ? std::optional<double>(cell.sum / static_cast<double>(cell.count))
                          : std::nullopt);
      counts.push_back(cell.count);
    }
    table.mean.push_back(std::move(means));
    table.count.push_back(std::move(counts));
  }
  return table;
}

ordered_json to_json(const PivotTable& table) {
  ordered_json mean = ordered_json::array();
  for (const auto& line : table.mean) {
    ordered_json row = ordered_json::array();
    for (const std::optional<double>& cell : line) {
      row.push_back(cell ? ordered_json(*cell) : ordered_json(nullptr));
    }
    mean.push_back(std::move(row));
  }
  return {{"rows", table.rows},
          {"cols", table.cols},
          {"value", table.value},
          {"row_values", table.row_values},
          {"col_values", table.col_values},
          {"mean", mean},
          {"count", table.count},
          {"averaged_over", table.averaged_over}};
}

}  // namespace gradscope
