#include "gradscope/experiments/experiment.hpp"

#include <fmt/format.h>

#include <cmath>

#include "gradscope/core/error.hpp"

namespace gradscope {

namespace {

Verdict make_verdict(std::string name, std::string claim, double measured, double expected,
                     double tolerance, Comparison comparison, std::string units) {
  GRADSCOPE_CHECK(tolerance >= 0.0, "verdict {}: tolerance {} < 0", name, tolerance);
  Verdict v;
  v.name = std::move(name);
  v.claim = std::move(claim);
  v.measured = measured;
  v.expected = expected;
  v.tolerance = tolerance;
  v.comparison = comparison;
  v.units = std::move(units);
  if (!std::isfinite(measured)) {
    v.pass = false;
  } else if (comparison == Comparison::kWithin) {
    v.pass = std::abs(measured - expected) <= tolerance;
  } else if (comparison == Comparison::kAtMost) {
    v.pass = measured <= expected + tolerance;
  } else {
    v.pass = measured >= expected - tolerance;
  }
  return v;
}

// A cell as JSON: non-finite numbers become null.
nlohmann::json clean_cell(nlohmann::json cell) {
  if (cell.is_number_float() && !std::isfinite(cell.get<double>())) return nullptr;
  return cell;
}

std::string csv_field(const nlohmann::json& cell) {
  if (cell.is_null()) return "";
  if (cell.is_number_float()) return fmt::format("{}", cell.get<double>());
  if (!cell.is_string()) return cell.dump();
  const std::string& text = cell.get_ref<const std::string&>();
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

}  // namespace

std::string_view comparison_name(Comparison comparison) {
  switch (comparison) {
    case Comparison::kWithin:
      return "within";
    case Comparison::kAtMost:
      return "at_most";
    case Comparison::kAtLeast:
      return "at_least";
  }
  return "within";
}

Verdict verdict_within(std::string name, std::string claim, double measured, double expected,
                       double tolerance, std::string units) {
  return make_verdict(std::move(name), std::move(claim), measured, expected, tolerance,
                      Comparison::kWithin, std::move(units));
}

Verdict verdict_at_most(std::string name, std::string claim, double measured, double bound,
                        double tolerance, std::string units) {
  return make_verdict(std::move(name), std::move(claim), measured, bound, tolerance,
                      Comparison::kAtMost, std::move(units));
}

Verdict verdict_at_least(std::string name, std::string claim, double measured, double bound,
                         double tolerance, std::string units) {
  return make_verdict(std::move(name), std::move(claim), measured, bound, tolerance,
                      Comparison::kAtLeast, std::move(units));
}

DataTable::DataTable(std::string name, std::vector<std::string> columns)
    : name_(std::move(name)), columns_(std::move(columns)) {
  GRADSCOPE_CHECK(!columns_.empty(), "table {} has no columns", name_);
}

void DataTable::add_row(std::vector<nlohmann::json> cells) {
  GRADSCOPE_CHECK(cells.size() == columns_.size(), "table {}: row of {} cells, {} columns", name_,
                  cells.size(), columns_.size());
  for (nlohmann::json& cell : cells) cell = clean_cell(std::move(cell));
  rows_.push_back(std::move(cells));
}

nlohmann::json DataTable::records() const {
  nlohmann::json records = nlohmann::json::array();
  for (const std::vector<nlohmann::json>& row : rows_) {
    nlohmann::json record = nlohmann::json::object();
    for (std::size_t c = 0; c < columns_.size(); ++c) record[columns_[c]] = row[c];
    records.push_back(std::move(record));
  }
  return records;
}

std::string DataTable::csv() const {
  std::string out;
  // Appended piece by piece: g++ 12 at -O3 misreads `"," + std::string` as an overflow.
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    if (c > 0) out += ',';
    out += csv_field(columns_[c]);
  }
  out += '\n';
  for (const std::vector<nlohmann::json>& row : rows_) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (c > 0) out += ',';
      out += csv_field(row[c]);
    }
    out += '\n';
  }
  return out;
}

bool ExperimentResult::passed() const {
  if (verdicts.empty()) return false;
  for (const Verdict& v : verdicts) {
    if (!v.pass) return false;
  }
  return true;
}

}  // namespace gradscope
