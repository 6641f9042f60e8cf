#include "gradscope/sweep/result_file.hpp"

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <sstream>

#include "gradscope/core/error.hpp"
#include "gradscope/experiments/run_directory.hpp"

namespace gradscope {

namespace {

using ordered_json = nlohmann::ordered_json;

ordered_json record_head(const std::string& command, const SweepPoint& point) {
  return {{"point", point.index}, {"command", command}, {"settings", point.settings}};
}

bool is_record(const ordered_json& line) {
  return line.is_object() && line.contains("point") && line["point"].is_number_unsigned() &&
         line.contains("settings") && line["settings"].is_object() && line.contains("status") &&
         line["status"].is_string();
}

}  // namespace

ordered_json ok_record(const std::string& command, const SweepPoint& point, ordered_json result) {
  ordered_json record = record_head(command, point);
  record["status"] = kSweepStatusOk;
  record["result"] = std::move(result);
  return record;
}

ordered_json failed_record(const std::string& command, const SweepPoint& point,
                           const std::string& reason, ordered_json result) {
  ordered_json record = record_head(command, point);
  record["status"] = kSweepStatusFailed;
  record["reason"] = reason;
  if (!result.is_null()) record["result"] = std::move(result);
  return record;
}

ResultFile read_result_file(const std::filesystem::path& path) {
  ResultFile file;
  std::error_code missing;
  if (!std::filesystem::exists(path, missing)) return file;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_bad_input("{}: cannot read the results file", path.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  std::size_t start = 0;
  long line_number = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {  // cut short: dropped, and the point runs again
      file.dropped_partial_line = true;
      break;
    }
    ++line_number;
    const std::string_view line(text.data() + start, end - start);
    ordered_json record;
    try {
      record = ordered_json::parse(line);
    } catch (const nlohmann::json::parse_error&) {
      record = nullptr;
    }
    if (!is_record(record)) {
      throw_bad_input(
          "{}:{}: not a sweep result line (this file is not a sweep's results; choose another "
          "--out)",
          path.string(), line_number);
    }
    file.records.push_back(std::move(record));
    start = end + 1;
    file.complete_bytes = start;
  }
  return file;
}

std::vector<bool> completed_points(const ResultFile& file, const std::filesystem::path& path,
                                   const std::string& command,
                                   const std::vector<SweepPoint>& points, bool retry_failed) {
  std::vector<bool> done(points.size(), false);
  for (const ordered_json& record : file.records) {
    const std::uint64_t index = record["point"].get<std::uint64_t>();
    const bool same_command = record.value("command", std::string()) == command;
    if (index >= points.size() || !same_command || record["settings"] != points[index].settings) {
      throw_bad_input(
          "{}: point {} was recorded with other settings than this grid's ({}); a results file "
          "belongs to one grid: choose another --out",
          path.string(), index,
          index < points.size() ? points[index].settings.dump() : std::string("no such point"));
    }
    const bool ok = record["status"] == kSweepStatusOk;
    if (ok || !retry_failed) done[index] = true;
  }
  return done;
}

ResultAppender::ResultAppender(const std::filesystem::path& path, std::size_t keep_bytes)
    : file_(path.string(), keep_bytes, fmt::format("--out {}", path.string())) {}

void ResultAppender::append(const ordered_json& record) { file_.append(record.dump()); }

void write_sorted_results(const std::filesystem::path& path,
                          const std::vector<ordered_json>& records) {
  std::map<std::uint64_t, const ordered_json*> by_point;
  for (const ordered_json& record : records) {
    by_point[record["point"].get<std::uint64_t>()] = &record;
  }
  std::string text;
  for (const auto& entry : by_point) {
    text += entry.second->dump();
    text.push_back('\n');
  }
  write_file_atomically(path, text);
}

}  // namespace gradscope
