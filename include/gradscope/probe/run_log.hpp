// The run log: JSONL, one record per line, documented in docs/run-log.md (schema 1).
//
// Records are appended and flushed one by one, each with a single write(2), so a run killed at
// any moment (even by SIGKILL) leaves a log whose every complete line parses. Non-finite numbers
// are written as null, with the record's explicit non-finite flags saying which.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "gradscope/core/line_appender.hpp"
#include "gradscope/probe/step_record.hpp"

namespace gradscope {

inline constexpr int kRunLogSchema = 1;

class RunLogWriter {
 public:
  // Creates or truncates `path`; bad-input Error naming the path if it cannot.
  explicit RunLogWriter(const std::string& path);

  void write(const nlohmann::json& record);
  const std::string& path() const { return file_.path(); }

 private:
  LineAppender file_;
};

nlohmann::json to_json(const LayerRecord& record);
nlohmann::json to_json(const TimeStepRecord& record);
// {"type":"step", ...}
nlohmann::json to_json(const StepRecord& record);
// {"type":"eval", ...}
nlohmann::json to_json(const EvalRecord& record);

// A finite double as itself, anything else as null.
nlohmann::json finite_or_null(double value);
// An unset value as null too.
nlohmann::json finite_or_null(const std::optional<double>& value);

}  // namespace gradscope
