// A sweep's results file (JSON Lines, docs/sweeps.md): one line per finished point,
//   {"point": 3, "command": "probe", "settings": {...}, "status": "ok", "result": {...}}
//   {"point": 4, "command": "probe", "settings": {...}, "status": "failed", "reason": "..."}
// appended as points finish (one write(2) per line, so a kill never leaves half a line except
// when the machine itself stops), then rewritten in point order when the sweep completes.
#pragma once

#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gradscope/core/line_appender.hpp"
#include "gradscope/sweep/sweep_point.hpp"

namespace gradscope {

inline constexpr const char* kSweepStatusOk = "ok";
inline constexpr const char* kSweepStatusFailed = "failed";

nlohmann::ordered_json ok_record(const std::string& command, const SweepPoint& point,
                                 nlohmann::ordered_json result);
// `result` may be null (nothing came back) or what the command printed before it was judged
// failed (a non-finite loss, for instance).
nlohmann::ordered_json failed_record(const std::string& command, const SweepPoint& point,
                                     const std::string& reason,
                                     nlohmann::ordered_json result = nullptr);

struct ResultFile {
  std::vector<nlohmann::ordered_json> records;  // every complete line, in file order
  // Bytes up to the end of the last complete line: an unterminated last line (a write cut
  // short) is dropped, and appending starts here.
  std::size_t complete_bytes = 0;
  bool dropped_partial_line = false;
};

// Reads a results file; a missing file is empty. A complete line that is not a sweep record is
// a bad-input Error naming the file and line (it is not a results file, or not this one).
ResultFile read_result_file(const std::filesystem::path& path);

// Which points are already done: done[i] for point i. A record whose settings or command differ
// from the grid's point of that index is a bad-input Error (the file belongs to another grid).
// Failed points count as done unless `retry_failed`.
std::vector<bool> completed_points(const ResultFile& file, const std::filesystem::path& path,
                                   const std::string& command,
                                   const std::vector<SweepPoint>& points, bool retry_failed);

// Appends records to a results file, one write(2) per line; opening cuts the file to
// `keep_bytes` (dropping a partial last line) and creates it when missing.
class ResultAppender {
 public:
  ResultAppender(const std::filesystem::path& path, std::size_t keep_bytes);
  void append(const nlohmann::ordered_json& record);

 private:
  LineAppender file_;
};

// Rewrites `path` atomically (temporary file + rename) with one record per point in point
// order: for a point recorded more than once, its last record wins.
void write_sorted_results(const std::filesystem::path& path,
                          const std::vector<nlohmann::ordered_json>& records);

}  // namespace gradscope
