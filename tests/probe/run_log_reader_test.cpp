// The run-log reader on damaged and malformed logs (issue 6, point 6): each case names the exact
// line in its LogIssue or Error, and whatever is diagnosable is still read. Plus a round trip
// through the real writer.
#include "gradscope/probe/run_log_reader.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "gradscope/core/error.hpp"
#include "gradscope/probe/run_log.hpp"
#include "support/shell.hpp"

namespace gradscope {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kHeader =
    R"({"type":"header","schema":1,"tool":"gradscope","version":"0.1.0","command":"train",)"
    R"("seed":0,"model":{"model":"mlp","depth":2,"act":"tanh","init":"xavier","norm":"none",)"
    R"("residual":false},"train":{"steps":3,"lr":0.01,"clip":null},)"
    R"("task":{"name":"teacher","inputs":4,"outputs":1,"loss":"mse"},)"
    R"("layers":[{"index":1,"name":"0","kind":"dense","activation":"tanh"}]})";

// A step record as the writer prints it, with one probed layer.
std::string step_line(long step, double loss) {
  return fmt::format(
      R"({{"type":"step","step":{},"loss":{},"grad_norm":{},"clipped":false,"skipped":false,)"
      R"("lr":0.01,"nonfinite":{{"loss":false,"grad":false,"weight":false}},)"
      R"("layers":[{{"index":1,"name":"0","kind":"dense","activation":"tanh",)"
      R"("grad_norm":{},"weight_norm":1.5}}]}})",
      step, loss, 2.0 * loss, 0.5 * loss);
}

// One line each, every line ended by `eol`.
std::string lines(const std::vector<std::string>& records, const std::string& eol = "\n") {
  std::string text;
  for (const std::string& record : records) text += record + eol;
  return text;
}

void expect_same(const RunLogFile& a, const RunLogFile& b) {
  ASSERT_EQ(a.issues.size(), b.issues.size());
  for (std::size_t i = 0; i < a.issues.size(); ++i) {
    EXPECT_EQ(a.issues[i].line, b.issues[i].line);
    EXPECT_EQ(a.issues[i].message, b.issues[i].message);
  }
  ASSERT_EQ(a.runs.size(), b.runs.size());
  for (std::size_t r = 0; r < a.runs.size(); ++r) {
    EXPECT_EQ(a.runs[r].header_line, b.runs[r].header_line);
    EXPECT_EQ(a.runs[r].steps.size(), b.runs[r].steps.size());
    EXPECT_EQ(a.runs[r].evals.size(), b.runs[r].evals.size());
    EXPECT_EQ(a.runs[r].end.has_value(), b.runs[r].end.has_value());
  }
}

// Reads `text` from a real file with read_run_log, and checks that parse_run_log of the same
// text agrees (the two share the line parser but split lines differently).
RunLogFile read_text(const std::string& text) {
  testing::TempDir dir;
  const std::string path = dir / "run.jsonl";
  std::ofstream(path, std::ios::binary) << text;
  RunLogFile from_file = read_run_log(path);
  expect_same(from_file, parse_run_log(text, path));
  return from_file;
}

// The Error message of reading `text` through a file named run.jsonl, with the directory cut.
std::string read_error(const std::string& text) {
  testing::TempDir dir;
  const std::string path = dir / "run.jsonl";
  std::ofstream(path, std::ios::binary) << text;
  std::string from_file;
  std::string from_text;
  try {
    read_run_log(path);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    from_file = e.what();
  }
  try {
    parse_run_log(text, path);
  } catch (const Error& e) {
    from_text = e.what();
  }
  EXPECT_EQ(from_file, from_text);
  EXPECT_THAT(from_file, StartsWith(path));
  return from_file.substr(
      std::min(from_file.size(), path.size() - std::string("run.jsonl").size()));
}

std::string issues_text(const RunLogFile& log) {
  std::string text;
  for (const LogIssue& issue : log.issues)
    text += fmt::format("{}: {}\n", issue.line, issue.message);
  return text;
}

TEST(RunLogReader, ReadsAWellFormedLog) {
  const RunLogFile log = read_text(lines(
      {kHeader, step_line(1, 0.5), step_line(2, 0.25), R"({"type":"eval","step":2,"loss":0.3})",
       R"({"type":"end","status":"completed","steps":2,"skipped":0})"}));
  EXPECT_TRUE(log.issues.empty()) << issues_text(log);
  ASSERT_EQ(log.runs.size(), 1u);
  const LoggedRun& run = log.runs[0];
  EXPECT_EQ(run.header_line, 1);
  EXPECT_EQ(run.settings.model, "mlp");
  EXPECT_EQ(run.settings.act, "tanh");
  EXPECT_EQ(run.settings.depth, 2);
  EXPECT_EQ(run.settings.lr, 0.01);
  EXPECT_FALSE(run.settings.clip);
  EXPECT_EQ(run.settings.task, "teacher");
  ASSERT_EQ(run.steps.size(), 2u);
  EXPECT_EQ(run.steps[1].line, 3);
  EXPECT_EQ(run.steps[1].step, 2);
  EXPECT_EQ(run.steps[1].loss, 0.25);
  EXPECT_EQ(run.steps[1].grad_norm, 0.5);
  ASSERT_EQ(run.steps[1].layers.size(), 1u);
  EXPECT_EQ(run.steps[1].layers[0].grad_norm, 0.125);
  ASSERT_EQ(run.evals.size(), 1u);
  EXPECT_EQ(run.evals[0].loss, 0.3);
  ASSERT_TRUE(run.end);
  EXPECT_EQ(run.end->line, 5);
  EXPECT_EQ(run.end->status, "completed");
}

// A writer killed in the middle of a line: the last line has no newline and does not parse.
TEST(RunLogReader, TruncatedLastLineKeepsEveryCompleteStep) {
  const std::string full = step_line(4, 0.0625);
  const RunLogFile log =
      read_text(lines({kHeader, step_line(1, 0.5), step_line(2, 0.25), step_line(3, 0.125)}) +
                full.substr(0, full.size() / 2));
  ASSERT_EQ(log.issues.size(), 1u) << issues_text(log);
  EXPECT_EQ(log.issues[0].line, 5);
  EXPECT_THAT(log.issues[0].message, HasSubstr("truncated last record"));
  ASSERT_EQ(log.runs.size(), 1u);
  const LoggedRun& run = log.runs[0];
  ASSERT_EQ(run.steps.size(), 3u);
  for (long i = 0; i < 3; ++i) {
    EXPECT_EQ(run.steps[i].step, i + 1);
    EXPECT_EQ(run.steps[i].line, i + 2);
    EXPECT_EQ(run.steps[i].loss, 0.5 / std::pow(2.0, i));
    ASSERT_EQ(run.steps[i].layers.size(), 1u);
    EXPECT_EQ(run.steps[i].layers[0].grad_norm, 0.25 / std::pow(2.0, i));
  }
  EXPECT_FALSE(run.end);  // killed: no end record
}

// The same damage in the middle of a file is a line that is not JSON, not a truncated record.
TEST(RunLogReader, BadMiddleLineIsReportedAndTheRestRead) {
  const RunLogFile log = read_text(
      lines({kHeader, step_line(1, 0.5), R"({"type":"step","step":2,"lo)", step_line(3, 0.125)}));
  ASSERT_EQ(log.issues.size(), 1u) << issues_text(log);
  EXPECT_EQ(log.issues[0].line, 3);
  EXPECT_THAT(log.issues[0].message, StartsWith("not a JSON record (syntax error at column"));
  ASSERT_EQ(log.runs[0].steps.size(), 2u);
  EXPECT_EQ(log.runs[0].steps[1].step, 3);
  EXPECT_EQ(log.runs[0].steps[1].line, 4);
}

// The column counts in the line as written, also after bare NaN tokens (which the reader quotes).
TEST(RunLogReader, SyntaxErrorColumnCountsInTheLineAsWritten) {
  const RunLogFile log = read_text(
      lines({kHeader, R"({"type":"step","step":1,"loss":x})",
             R"({"type":"step","step":2,"loss":NaN,"lr":-Infinity,x})", step_line(3, 0.125)}));
  ASSERT_EQ(log.issues.size(), 2u) << issues_text(log);
  EXPECT_EQ(log.issues[0].line, 2);
  EXPECT_EQ(log.issues[0].message, "not a JSON record (syntax error at column 32); ignored");
  EXPECT_EQ(log.issues[1].line, 3);
  EXPECT_EQ(log.issues[1].message, "not a JSON record (syntax error at column 51); ignored");
  EXPECT_EQ(log.runs.at(0).steps.size(), 1u);
}

TEST(RunLogReader, BlankLinesAreSkippedButCounted) {
  const RunLogFile log =
      read_text(lines({"", kHeader, "", step_line(1, 0.5), "  \t ", step_line(2, 0.25), ""}));
  EXPECT_TRUE(log.issues.empty()) << issues_text(log);
  ASSERT_EQ(log.runs.size(), 1u);
  EXPECT_EQ(log.runs[0].header_line, 2);
  ASSERT_EQ(log.runs[0].steps.size(), 2u);
  EXPECT_EQ(log.runs[0].steps[0].line, 4);
  EXPECT_EQ(log.runs[0].steps[1].line, 6);
  EXPECT_EQ(log.runs[0].steps[1].loss, 0.25);
}

TEST(RunLogReader, MissingOptionalFieldsReadAsAbsent) {
  const RunLogFile log = read_text(lines({
      R"({"type":"header"})",
      R"({"type":"step","step":1})",
      R"({"type":"step","step":2,"loss":null,"grad_norm":null,"layers":[{"index":3}],)"
      R"("time_steps":[{"grad_norm":[1,null]}]})",
      R"({"type":"eval","loss":0.5})",
      R"({"type":"end"})",
  }));
  EXPECT_TRUE(log.issues.empty()) << issues_text(log);
  ASSERT_EQ(log.runs.size(), 1u);
  const LoggedRun& run = log.runs[0];
  EXPECT_EQ(run.settings.model, "");
  EXPECT_FALSE(run.settings.depth);
  EXPECT_FALSE(run.settings.lr);
  ASSERT_EQ(run.steps.size(), 2u);
  EXPECT_FALSE(run.steps[0].loss);
  EXPECT_FALSE(run.steps[0].grad_norm);
  EXPECT_FALSE(run.steps[0].lr);
  EXPECT_FALSE(run.steps[0].clipped);
  EXPECT_FALSE(run.steps[0].nonfinite_loss);
  EXPECT_TRUE(run.steps[0].layers.empty());
  EXPECT_FALSE(run.steps[1].loss);
  ASSERT_EQ(run.steps[1].layers.size(), 1u);
  EXPECT_EQ(run.steps[1].layers[0].index, 3);
  EXPECT_FALSE(run.steps[1].layers[0].grad_norm);
  EXPECT_FALSE(run.steps[1].layers[0].dead);
  ASSERT_EQ(run.steps[1].time_steps.size(), 1u);
  EXPECT_EQ(run.steps[1].time_steps[0].layer, 0);  // its position when absent
  ASSERT_EQ(run.steps[1].time_steps[0].grad_norm.size(), 2u);
  EXPECT_EQ(run.steps[1].time_steps[0].grad_norm[0], 1.0);
  EXPECT_FALSE(run.steps[1].time_steps[0].grad_norm[1]);
  EXPECT_TRUE(run.steps[1].time_steps[0].keep_gate.empty());
  ASSERT_EQ(run.evals.size(), 1u);
  EXPECT_EQ(run.evals[0].step, 2);  // the last step before it
  EXPECT_FALSE(run.evals[0].accuracy);
  ASSERT_TRUE(run.end);
  EXPECT_EQ(run.end->status, "");
}

// The step number is the one field a step needs; without it the step follows the previous one.
TEST(RunLogReader, StepWithoutNumberIsNumberedAfterThePrevious) {
  const RunLogFile log =
      read_text(lines({kHeader, step_line(7, 0.5), R"({"type":"step","loss":0.25})"}));
  ASSERT_EQ(log.issues.size(), 1u) << issues_text(log);
  EXPECT_EQ(log.issues[0].line, 3);
  EXPECT_THAT(log.issues[0].message, HasSubstr("without a 'step' number"));
  ASSERT_EQ(log.runs[0].steps.size(), 2u);
  EXPECT_EQ(log.runs[0].steps[1].step, 8);
  EXPECT_EQ(log.runs[0].steps[1].loss, 0.25);
}

// Python's json.dumps writes NaN, Infinity and -Infinity bare; they read as non-finite numbers.
TEST(RunLogReader, BareNonFiniteTokensAreNumbers) {
  const RunLogFile log = read_text(lines({
      kHeader,
      R"({"type":"step","step":1,"loss":NaN,"grad_norm":Infinity,"lr":-Infinity,)"
      R"("layers":[{"index":1,"grad_norm":-Infinity,"weight_norm":NaN}],)"
      R"("time_steps":[{"layer":0,"grad_norm":[1.5,NaN,Infinity,-Infinity,null]}]})",
      R"({"type":"eval","step":1,"loss":Infinity,"accuracy":NaN})",
  }));
  EXPECT_TRUE(log.issues.empty()) << issues_text(log);
  const LoggedStep& step = log.runs.at(0).steps.at(0);
  ASSERT_TRUE(step.loss && step.grad_norm && step.lr);
  EXPECT_TRUE(std::isnan(*step.loss));
  EXPECT_EQ(*step.grad_norm, std::numeric_limits<double>::infinity());
  EXPECT_EQ(*step.lr, -std::numeric_limits<double>::infinity());
  // The flags follow from the numbers when a writer did not set them.
  EXPECT_TRUE(step.nonfinite_loss);
  EXPECT_TRUE(step.nonfinite_grad);
  ASSERT_EQ(step.layers.size(), 1u);
  EXPECT_EQ(step.layers[0].grad_norm, -std::numeric_limits<double>::infinity());
  ASSERT_TRUE(step.layers[0].weight_norm);
  EXPECT_TRUE(std::isnan(*step.layers[0].weight_norm));
  const std::vector<std::optional<double>>& curve = step.time_steps.at(0).grad_norm;
  ASSERT_EQ(curve.size(), 5u);
  EXPECT_EQ(curve[0], 1.5);
  ASSERT_TRUE(curve[1]);
  EXPECT_TRUE(std::isnan(*curve[1]));
  EXPECT_EQ(curve[2], std::numeric_limits<double>::infinity());
  EXPECT_EQ(curve[3], -std::numeric_limits<double>::infinity());
  EXPECT_FALSE(curve[4]);
  const LoggedEval& eval = log.runs[0].evals.at(0);
  EXPECT_EQ(eval.loss, std::numeric_limits<double>::infinity());
  ASSERT_TRUE(eval.accuracy);
  EXPECT_TRUE(std::isnan(*eval.accuracy));
}

TEST(RunLogReader, NonFiniteTokensInsideStringsStayStrings) {
  const RunLogFile log = read_text(lines({
      R"({"type":"header","model":{"model":"NaN","act":"-Infinity","init":"a \"NaN\" \\"}})",
      R"({"type":"step","step":1,"loss":NaN,"first_nonfinite":"Infinity.weight",)"
      R"("layers":[{"index":1,"name":"NaN","kind":"x NaN Infinity -Infinity y"}]})",
      R"({"type":"end","status":"stopped","reason":"loss NaN at step 1, \"Infinity\""})",
  }));
  EXPECT_TRUE(log.issues.empty()) << issues_text(log);
  const LoggedRun& run = log.runs.at(0);
  EXPECT_EQ(run.settings.model, "NaN");
  EXPECT_EQ(run.settings.act, "-Infinity");
  EXPECT_EQ(run.settings.init, R"(a "NaN" \)");
  const LoggedStep& step = run.steps.at(0);
  EXPECT_TRUE(std::isnan(step.loss.value()));
  EXPECT_EQ(step.first_nonfinite, "Infinity.weight");
  EXPECT_EQ(step.layers.at(0).name, "NaN");
  EXPECT_EQ(step.layers.at(0).kind, "x NaN Infinity -Infinity y");
  EXPECT_EQ(run.end.value().reason, R"(loss NaN at step 1, "Infinity")");
}

TEST(RunLogReader, NumberWrittenAsStringIsReportedAndIgnored) {
  const RunLogFile log = read_text(lines(
      {kHeader, R"({"type":"step","step":1,"loss":"0.5","grad_norm":2.5})", step_line(2, 0.25)}));
  ASSERT_EQ(log.issues.size(), 1u) << issues_text(log);
  EXPECT_EQ(log.issues[0].line, 2);
  EXPECT_EQ(log.issues[0].message, "field 'loss': expected a number, got string; ignored");
  ASSERT_EQ(log.runs[0].steps.size(), 2u);
  EXPECT_FALSE(log.runs[0].steps[0].loss);
  EXPECT_EQ(log.runs[0].steps[0].grad_norm, 2.5);  // the rest of the record is read
  EXPECT_EQ(log.runs[0].steps[1].loss, 0.25);
}

TEST(RunLogReader, ObjectWhereAnArrayBelongsIsReportedAndIgnored) {
  const RunLogFile log =
      read_text(lines({kHeader, R"({"type":"step","step":1,"loss":0.5,)"
                                R"("layers":{"index":1,"grad_norm":0.1},)"
                                R"("time_steps":[{"layer":0,"grad_norm":{"t":1}}]})"}));
  ASSERT_EQ(log.issues.size(), 2u) << issues_text(log);
  EXPECT_EQ(log.issues[0].line, 2);
  EXPECT_EQ(log.issues[0].message, "field 'layers': expected an array, got object; ignored");
  EXPECT_EQ(log.issues[1].line, 2);
  EXPECT_EQ(log.issues[1].message,
            "field 'time_steps[0].grad_norm': expected an array, got object; ignored");
  const LoggedStep& step = log.runs.at(0).steps.at(0);
  EXPECT_EQ(step.loss, 0.5);
  EXPECT_TRUE(step.layers.empty());
  ASSERT_EQ(step.time_steps.size(), 1u);
  EXPECT_TRUE(step.time_steps[0].grad_norm.empty());
}

TEST(RunLogReader, LayerEntryThatIsNotAnObjectIsSkipped) {
  const RunLogFile log =
      read_text(lines({kHeader, R"({"type":"step","step":1,"layers":[)"
                                R"({"index":1,"grad_norm":0.1},3,null,)"
                                R"({"index":3,"grad_norm":0.3}],"time_steps":["x"]})"}));
  ASSERT_EQ(log.issues.size(), 3u) << issues_text(log);
  EXPECT_EQ(log.issues[0].line, 2);
  EXPECT_EQ(log.issues[0].message, "field 'layers[1]': expected an object, got number; ignored");
  EXPECT_EQ(log.issues[1].message, "field 'layers[2]': expected an object, got null; ignored");
  EXPECT_EQ(log.issues[2].message,
            "field 'time_steps[0]': expected an object, got string; ignored");
  const LoggedStep& step = log.runs.at(0).steps.at(0);
  ASSERT_EQ(step.layers.size(), 2u);
  EXPECT_EQ(step.layers[0].index, 1);
  EXPECT_EQ(step.layers[1].index, 3);
  EXPECT_EQ(step.layers[1].grad_norm, 0.3);
  EXPECT_TRUE(step.time_steps.empty());
}

TEST(RunLogReader, WrongTypesInsideArraysAndLayersAreReportedByPath) {
  const RunLogFile log = read_text(lines(
      {kHeader, R"({"type":"step","step":1,"layers":[{"index":"1","name":7,"grad_norm":[0.1],)"
                R"("dead":0.5,"nonfinite":"no"}],)"
                R"("time_steps":[{"layer":0,"grad_norm":[1.0,"x",true,null,2.0]}]})"}));
  ASSERT_EQ(log.issues.size(), 6u) << issues_text(log);
  for (const LogIssue& issue : log.issues) EXPECT_EQ(issue.line, 2);
  EXPECT_EQ(log.issues[0].message,
            "field 'layers[0].index': expected an integer, got string; ignored");
  EXPECT_EQ(log.issues[1].message,
            "field 'layers[0].name': expected a string, got number; ignored");
  EXPECT_EQ(log.issues[2].message,
            "field 'layers[0].grad_norm': expected a number, got array; ignored");
  EXPECT_EQ(log.issues[3].message,
            "field 'layers[0].nonfinite': expected true or false, got string; ignored");
  EXPECT_EQ(log.issues[4].message,
            "field 'time_steps[0].grad_norm[1]': expected a number, got string; ignored");
  EXPECT_EQ(log.issues[5].message,
            "field 'time_steps[0].grad_norm[2]': expected a number, got boolean; ignored");
  const LoggedStep& step = log.runs.at(0).steps.at(0);
  ASSERT_EQ(step.layers.size(), 1u);
  EXPECT_EQ(step.layers[0].dead, 0.5);
  const std::vector<std::optional<double>>& curve = step.time_steps.at(0).grad_norm;
  ASSERT_EQ(curve.size(), 5u);  // positions are kept: t still counts from 1
  EXPECT_EQ(curve[0], 1.0);
  EXPECT_FALSE(curve[1]);
  EXPECT_FALSE(curve[2]);
  EXPECT_FALSE(curve[3]);
  EXPECT_EQ(curve[4], 2.0);
}

TEST(RunLogReader, WrongTypesOfFlagsAndStepNumbersAreReported) {
  const RunLogFile log =
      read_text(lines({kHeader, step_line(1, 0.5),
                       R"({"type":"step","step":2.5,"clipped":1,"nonfinite":[true],"loss":0.25})",
                       R"({"type":"step","step":3.0,"nonfinite":{"loss":"yes","grad":true}})"}));
  ASSERT_EQ(log.issues.size(), 5u) << issues_text(log);
  EXPECT_EQ(log.issues[0].line, 3);
  EXPECT_EQ(log.issues[0].message, "field 'step': expected an integer, got number; ignored");
  EXPECT_EQ(log.issues[1].line, 3);
  EXPECT_THAT(log.issues[1].message, HasSubstr("without a 'step' number"));
  EXPECT_EQ(log.issues[2].message, "field 'clipped': expected true or false, got number; ignored");
  EXPECT_EQ(log.issues[3].message, "field 'nonfinite': expected an object, got array; ignored");
  EXPECT_EQ(log.issues[4].line, 4);
  EXPECT_EQ(log.issues[4].message,
            "field 'nonfinite.loss': expected true or false, got string; ignored");
  const std::vector<LoggedStep>& steps = log.runs.at(0).steps;
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[1].step, 2);
  EXPECT_EQ(steps[1].loss, 0.25);
  EXPECT_EQ(steps[2].step, 3);  // an integral float is an integer
  EXPECT_TRUE(steps[2].nonfinite_grad);
}

TEST(RunLogReader, HeaderSectionsOfTheWrongTypeAreReported) {
  const RunLogFile log = read_text(
      lines({R"({"type":"header","model":"mlp","train":{"lr":"fast","clip":1},"task":[1]})",
             step_line(1, 0.5)}));
  ASSERT_EQ(log.issues.size(), 3u) << issues_text(log);
  EXPECT_EQ(log.issues[0].line, 1);
  EXPECT_EQ(log.issues[0].message, "field 'model': expected an object, got string; ignored");
  EXPECT_EQ(log.issues[1].message, "field 'task': expected an object, got array; ignored");
  EXPECT_EQ(log.issues[2].message, "field 'train.lr': expected a number, got string; ignored");
  EXPECT_EQ(log.runs.at(0).settings.clip, 1.0);
  EXPECT_EQ(log.runs[0].steps.size(), 1u);
}

TEST(RunLogReader, RecordWithoutAStringTypeIsSkipped) {
  const RunLogFile log = read_text(
      lines({kHeader, R"({"type":5,"step":1})", R"({"step":2})", "[1,2]", step_line(3, 0.5)}));
  ASSERT_EQ(log.issues.size(), 4u) << issues_text(log);
  EXPECT_EQ(log.issues[0].line, 2);
  EXPECT_EQ(log.issues[0].message, "field 'type': expected a string, got number; ignored");
  EXPECT_EQ(log.issues[1].line, 2);
  EXPECT_EQ(log.issues[1].message, "record without a 'type'; ignored");
  EXPECT_EQ(log.issues[2].line, 3);
  EXPECT_EQ(log.issues[2].message, "record without a 'type'; ignored");
  EXPECT_EQ(log.issues[3].line, 4);
  EXPECT_EQ(log.issues[3].message, "a JSON array, not a record; ignored");
  ASSERT_EQ(log.runs.at(0).steps.size(), 1u);
  EXPECT_EQ(log.runs[0].steps[0].step, 3);
}

TEST(RunLogReader, EmptyFileIsBadInput) {
  EXPECT_EQ(read_error(""), "run.jsonl: empty file: not a run log");
}

TEST(RunLogReader, WhitespaceOnlyFileIsBadInput) {
  EXPECT_EQ(read_error("\n  \n\t\r\n\n   "), "run.jsonl: only blank lines: not a run log");
}

TEST(RunLogReader, BinaryGarbageIsBadInputNamingTheFirstLine) {
  const std::string garbage("\n\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\xfe\n", 20);
  EXPECT_EQ(read_error(garbage),
            "run.jsonl:2: not a run log: not a JSON record (syntax error at column 1)");
}

TEST(RunLogReader, SingleJsonArrayIsBadInput) {
  EXPECT_EQ(read_error("[" + kHeader + "," + step_line(1, 0.5) + "]\n"),
            "run.jsonl:1: not a run log: a JSON array, not a record");
  // Pretty-printed (as json.dump(records, indent=2) writes it), no line is JSON on its own.
  const nlohmann::json records = nlohmann::json::array(
      {nlohmann::json::parse(kHeader), nlohmann::json::parse(step_line(1, 0.5))});
  EXPECT_EQ(read_error("\n" + records.dump(2) + "\n"),
            "run.jsonl:2: not a run log: not a JSON record (syntax error at column 2)");
}

TEST(RunLogReader, PlainTextIsBadInput) {
  EXPECT_EQ(read_error("step 1 loss 0.5\nstep 2 loss 0.25\n"),
            "run.jsonl:1: not a run log: not a JSON record (syntax error at column 1)");
  // Unterminated, a one-line file is taken for a killed writer's only record.
  EXPECT_EQ(read_error("loss went down"),
            "run.jsonl:1: not a run log: truncated last record (the writer was stopped mid-line)");
}

TEST(RunLogReader, NonexistentPathIsBadInput) {
  testing::TempDir dir;
  const std::string path = dir / "no-such-run.jsonl";
  try {
    read_run_log(path);
    FAIL() << "no Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_EQ(std::string(e.what()), path + ": cannot open the run log");
  }
  try {
    read_run_log(dir.path().string());
    FAIL() << "no Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), dir.path().string() + ": a directory, not a run log");
  }
}

TEST(RunLogReader, RecordsBeforeAnyHeaderFormARunWithoutSettings) {
  const RunLogFile log =
      read_text(lines({step_line(1, 0.5), step_line(2, 0.25),
                       R"({"type":"end","status":"completed"})", kHeader, step_line(1, 0.125)}));
  ASSERT_EQ(log.issues.size(), 1u) << issues_text(log);
  EXPECT_EQ(log.issues[0].line, 1);
  EXPECT_THAT(log.issues[0].message, HasSubstr("records before any header"));
  ASSERT_EQ(log.runs.size(), 2u);
  EXPECT_EQ(log.runs[0].header_line, 0);
  EXPECT_TRUE(log.runs[0].header.is_null());
  EXPECT_EQ(log.runs[0].settings.model, "");
  ASSERT_EQ(log.runs[0].steps.size(), 2u);
  EXPECT_EQ(log.runs[0].steps[1].loss, 0.25);
  ASSERT_TRUE(log.runs[0].end);
  EXPECT_EQ(log.runs[1].header_line, 4);
  ASSERT_EQ(log.runs[1].steps.size(), 1u);
  EXPECT_EQ(log.runs[1].steps[0].loss, 0.125);
}

TEST(RunLogReader, SeveralRunsInOneFileAreReadApart) {
  const std::string rnn_header =
      R"({"type":"header","model":{"model":"rnn","cell":"rnn_tanh","tbptt":0},)"
      R"("task":{"name":"adding","seq":50,"baseline_loss":0.1667}})";
  const RunLogFile log = read_text(lines({
      kHeader,
      step_line(1, 0.5),
      step_line(2, 0.25),
      R"({"type":"end","status":"completed"})",
      rnn_header,
      step_line(1, 0.125),
  }));
  EXPECT_TRUE(log.issues.empty()) << issues_text(log);
  ASSERT_EQ(log.runs.size(), 2u);
  EXPECT_EQ(log.runs[0].settings.model, "mlp");
  EXPECT_EQ(log.runs[0].steps.size(), 2u);
  ASSERT_TRUE(log.runs[0].end);
  EXPECT_EQ(log.runs[0].end->line, 4);
  const LoggedRun& rnn = log.runs[1];
  EXPECT_EQ(rnn.header_line, 5);
  EXPECT_EQ(rnn.settings.model, "rnn");
  EXPECT_EQ(rnn.settings.cell, "rnn_tanh");
  EXPECT_EQ(rnn.settings.tbptt, 0);
  EXPECT_EQ(rnn.settings.seq, 50);  // from the task when the model does not say
  EXPECT_EQ(rnn.settings.baseline_loss, 0.1667);
  ASSERT_EQ(rnn.steps.size(), 1u);
  EXPECT_EQ(rnn.steps[0].step, 1);
  EXPECT_EQ(rnn.steps[0].line, 6);
  EXPECT_FALSE(rnn.end);
}

TEST(RunLogReader, UnknownRecordTypesAndFieldsAreIgnored) {
  const RunLogFile log = read_text(lines({
      R"({"type":"header","future":{"x":[1,2,{"y":null}]},"model":{"model":"mlp","new":1}})",
      R"({"type":"checkpoint","step":1,"path":"ckpt.safetensors"})",
      R"({"type":"step","step":1,"loss":0.5,"extra":[NaN,"s"],"layers":[{"index":1,"z":{}}]})",
  }));
  ASSERT_EQ(log.issues.size(), 1u) << issues_text(log);
  EXPECT_EQ(log.issues[0].line, 2);
  EXPECT_EQ(log.issues[0].message, "unknown record type 'checkpoint'; ignored");
  ASSERT_EQ(log.runs.size(), 1u);
  EXPECT_EQ(log.runs[0].settings.model, "mlp");
  EXPECT_EQ(log.runs[0].header["future"]["x"].size(), 3u);  // the raw header keeps everything
  ASSERT_EQ(log.runs[0].steps.size(), 1u);
  EXPECT_EQ(log.runs[0].steps[0].loss, 0.5);
  EXPECT_EQ(log.runs[0].steps[0].layers.at(0).index, 1);
}

TEST(RunLogReader, CrlfLineEndingsAreAccepted) {
  const std::string full = step_line(3, 0.125);
  const RunLogFile log = read_text(
      lines({kHeader, step_line(1, 0.5), "", step_line(2, 0.25)}, "\r\n") + full.substr(0, 40));
  ASSERT_EQ(log.issues.size(), 1u) << issues_text(log);
  EXPECT_EQ(log.issues[0].line, 5);
  EXPECT_THAT(log.issues[0].message, HasSubstr("truncated last record"));
  ASSERT_EQ(log.runs.size(), 1u);
  EXPECT_EQ(log.runs[0].settings.act, "tanh");
  ASSERT_EQ(log.runs[0].steps.size(), 2u);
  EXPECT_EQ(log.runs[0].steps[1].line, 4);
  EXPECT_EQ(log.runs[0].steps[1].loss, 0.25);
}

// Regression, found by the fuzzer (fuzz/corpus/regression-number-overflow.jsonl): a number beyond
// double's range made nlohmann throw out_of_range, not parse_error, and it escaped the reader.
TEST(RunLogReader, NumberBeyondDoubleRangeIsReportedAndTheRestRead) {
  const RunLogFile log = read_text(
      lines({kHeader, step_line(1, 0.5), R"({"type":"step","step":2,"loss":1e999})",
             R"({"type":"step","step":3,"layers":[{"index":1,"update_ratio":0.81e9992533106529}]})",
             R"({"type":"step","step":4,"loss":-1e400})", step_line(5, 0.25)}));
  ASSERT_EQ(log.issues.size(), 3u) << issues_text(log);
  EXPECT_EQ(log.issues[0].line, 3);
  EXPECT_EQ(log.issues[0].message,
            "not a readable JSON record (number overflow parsing '1e999'); ignored");
  EXPECT_EQ(log.issues[1].line, 4);
  EXPECT_EQ(log.issues[1].message,
            "not a readable JSON record (number overflow parsing '0.81e9992533106529'); ignored");
  EXPECT_EQ(log.issues[2].line, 5);
  ASSERT_EQ(log.runs.at(0).steps.size(), 2u);
  EXPECT_EQ(log.runs[0].steps[1].step, 5);
  EXPECT_EQ(log.runs[0].steps[1].loss, 0.25);
}

// Regression: step numbers at the ends of long's range must neither wrap nor overflow.
TEST(RunLogReader, StepNumbersAtTheEdgeOfTheRangeDoNotOverflow) {
  const RunLogFile log =
      read_text(lines({kHeader, R"({"type":"step","step":9223372036854775807})",
                       R"({"type":"step"})", R"({"type":"step","step":18446744073709551615})"}));
  ASSERT_EQ(log.issues.size(), 3u) << issues_text(log);
  EXPECT_EQ(log.issues[0].line, 3);
  EXPECT_EQ(log.issues[1].line, 4);
  EXPECT_EQ(log.issues[1].message, "field 'step': expected an integer, got number; ignored");
  const std::vector<LoggedStep>& steps = log.runs.at(0).steps;
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].step, std::numeric_limits<long>::max());
  EXPECT_EQ(steps[1].step, std::numeric_limits<long>::max());
  EXPECT_EQ(steps[2].step, std::numeric_limits<long>::max());
}

// What the real writer writes reads back with the same values; a non-finite value is written as
// null plus its flag and reads back as absent, flagged.
TEST(RunLogReader, RoundTripThroughTheWriter) {
  StepRecord first;
  first.step = 1;
  first.loss = 0.693147180559945;
  first.grad_norm = 3.0e-42;  // tiny, but a number
  first.clipped = true;
  first.lr = 1e-3;
  LayerRecord layer;
  layer.index = 1;
  layer.name = "0";
  layer.kind = "dense";
  layer.activation = "tanh";
  layer.grad_norm = 0.1;
  layer.grad_norm_batch = 1.0 / 3.0;
  layer.weight_norm = 12.5;
  layer.weight_grad_norm = 2e-7;
  layer.rel_dist_init = 0.0;
  layer.update_ratio = 1e-4;
  layer.saturated = 0.25;
  layer.dead = 0.0;
  layer.jacobian_spectral_radius = 0.9;
  layer.jacobian_spectral_norm = 1.1;
  LayerRecord residual = layer;
  residual.index = 2;
  residual.name = "2";
  residual.kind = "residual";
  residual.update_ratio.reset();
  residual.skip_grad_norm = 0.75;
  residual.branch_grad_norm = 0.125;
  residual.jacobian_spectral_radius.reset();
  first.layers = {layer, residual};
  TimeStepRecord curve;
  curve.layer = 0;
  curve.grad_norm = {1e-9, 0.5, std::numeric_limits<double>::infinity()};
  curve.activation_derivative = {0.9, 0.8, 0.7};
  curve.cell_grad_norm = {1.0, 2.0, 3.0};
  curve.keep_gate = {0.1, 0.2, 0.3};
  first.time_steps = {curve};

  StepRecord broken;
  broken.step = 2;
  broken.loss = std::numeric_limits<double>::quiet_NaN();
  broken.grad_norm = std::numeric_limits<double>::infinity();
  broken.skipped = true;
  broken.loss_finite = false;
  broken.grad_finite = false;
  broken.first_nonfinite = "2.weight";
  broken.lr = 1e-3;
  LayerRecord bad_layer = layer;
  bad_layer.grad_norm = std::numeric_limits<double>::quiet_NaN();
  bad_layer.nonfinite = true;
  broken.layers = {bad_layer};

  EvalRecord eval{2, 0.5, 0.875};

  testing::TempDir dir;
  const std::string path = dir / "run.jsonl";
  {
    RunLogWriter writer(path);
    writer.write(nlohmann::json::parse(kHeader));
    writer.write(to_json(first));
    writer.write(to_json(broken));
    writer.write(to_json(eval));
    writer.write({{"type", "end"}, {"status", "completed"}, {"steps", 2}});
  }
  const RunLogFile log = read_run_log(path);
  EXPECT_TRUE(log.issues.empty()) << issues_text(log);
  ASSERT_EQ(log.runs.size(), 1u);
  const LoggedRun& run = log.runs[0];
  EXPECT_EQ(run.header, nlohmann::json::parse(kHeader));
  ASSERT_EQ(run.steps.size(), 2u);

  const LoggedStep& a = run.steps[0];
  EXPECT_EQ(a.line, 2);
  EXPECT_EQ(a.step, 1);
  EXPECT_EQ(a.loss, first.loss);
  EXPECT_EQ(a.grad_norm, first.grad_norm);
  EXPECT_TRUE(a.clipped);
  EXPECT_FALSE(a.skipped);
  EXPECT_EQ(a.lr, first.lr);
  EXPECT_FALSE(a.nonfinite_loss || a.nonfinite_grad || a.nonfinite_weight);
  EXPECT_EQ(a.first_nonfinite, "");
  ASSERT_EQ(a.layers.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const LayerRecord& w = first.layers[i];
    const LoggedLayer& r = a.layers[i];
    EXPECT_EQ(r.index, w.index);
    EXPECT_EQ(r.name, w.name);
    EXPECT_EQ(r.kind, w.kind);
    EXPECT_EQ(r.activation, w.activation);
    EXPECT_EQ(r.grad_norm, w.grad_norm);
    EXPECT_EQ(r.grad_norm_batch, w.grad_norm_batch);
    EXPECT_EQ(r.weight_norm, w.weight_norm);
    EXPECT_EQ(r.weight_grad_norm, w.weight_grad_norm);
    EXPECT_EQ(r.rel_dist_init, w.rel_dist_init);
    EXPECT_EQ(r.update_ratio, w.update_ratio);
    EXPECT_EQ(r.saturated, w.saturated);
    EXPECT_EQ(r.dead, w.dead);
    EXPECT_EQ(r.nonfinite, w.nonfinite);
    EXPECT_EQ(r.skip_grad_norm, w.skip_grad_norm);
    EXPECT_EQ(r.branch_grad_norm, w.branch_grad_norm);
    EXPECT_EQ(r.jacobian_spectral_radius, w.jacobian_spectral_radius);
    EXPECT_EQ(r.jacobian_spectral_norm, w.jacobian_spectral_norm);
  }
  ASSERT_EQ(a.time_steps.size(), 1u);
  const LoggedTimeSteps& c = a.time_steps[0];
  EXPECT_EQ(c.layer, 0);
  ASSERT_EQ(c.grad_norm.size(), 3u);
  EXPECT_EQ(c.grad_norm[0], 1e-9);
  EXPECT_EQ(c.grad_norm[1], 0.5);
  EXPECT_FALSE(c.grad_norm[2]);  // Inf was written as null
  const std::vector<std::optional<double>> derivative(curve.activation_derivative.begin(),
                                                      curve.activation_derivative.end());
  EXPECT_EQ(c.activation_derivative, derivative);
  EXPECT_EQ(c.cell_grad_norm.size(), 3u);
  EXPECT_EQ(c.keep_gate.back(), 0.3);

  const LoggedStep& b = run.steps[1];
  EXPECT_EQ(b.step, 2);
  EXPECT_FALSE(b.loss);  // NaN, written as null: absent, and flagged
  EXPECT_FALSE(b.grad_norm);
  EXPECT_TRUE(b.nonfinite_loss);
  EXPECT_TRUE(b.nonfinite_grad);
  EXPECT_FALSE(b.nonfinite_weight);
  EXPECT_TRUE(b.skipped);
  EXPECT_EQ(b.first_nonfinite, "2.weight");
  ASSERT_EQ(b.layers.size(), 1u);
  EXPECT_FALSE(b.layers[0].grad_norm);
  EXPECT_TRUE(b.layers[0].nonfinite);
  EXPECT_EQ(b.layers[0].weight_norm, 12.5);

  ASSERT_EQ(run.evals.size(), 1u);
  EXPECT_EQ(run.evals[0].step, 2);
  EXPECT_EQ(run.evals[0].loss, 0.5);
  EXPECT_EQ(run.evals[0].accuracy, 0.875);
  ASSERT_TRUE(run.end);
  EXPECT_EQ(run.end->line, 5);
  EXPECT_EQ(run.end->status, "completed");
}

}  // namespace
}  // namespace gradscope
