#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "gradscope/probe/run_log_reader.hpp"
#include "support/shell.hpp"

namespace gradscope {
namespace {

testing::ShellResult gradscope(const std::string& args) {
  return testing::run_shell(std::string(GRADSCOPE_CLI_PATH) + " " + args);
}

std::vector<nlohmann::json> parse_log(const std::string& path) {
  std::vector<nlohmann::json> records;
  for (const std::string& line : testing::read_lines(path))
    records.push_back(nlohmann::json::parse(line));
  return records;
}

TEST(TrainCommand, WritesADocumentedRunLog) {
  testing::TempDir dir;
  const std::string log = dir / "run.jsonl";
  const testing::ShellResult r = gradscope(
      "train --task teacher --depth 4 --width 16 --inputs 8 --batch 32 --steps 40 "
      "--probe-every 10 --eval-every 20 --clip 5 --log " +
      log);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<nlohmann::json> records = parse_log(log);
  ASSERT_GE(records.size(), 3u);
  EXPECT_EQ(records.front()["type"], "header");
  EXPECT_EQ(records.front()["schema"], 1);
  EXPECT_EQ(records.front()["layers"].size(), 4u);
  EXPECT_EQ(records.front()["model"]["depth"], 4);
  EXPECT_EQ(records.back()["type"], "end");
  EXPECT_EQ(records.back()["status"], "completed");
  long steps = 0, probed = 0, evals = 0;
  for (const nlohmann::json& rec : records) {
    if (rec["type"] == "step") {
      ++steps;
      EXPECT_EQ(rec["step"], steps);
      EXPECT_TRUE(rec["grad_norm"].is_number());
      if (rec.contains("layers")) {
        ++probed;
        EXPECT_EQ(rec["layers"].size(), 4u);
        EXPECT_TRUE(rec["layers"][0]["update_ratio"].is_number());
      }
    }
    if (rec["type"] == "eval") ++evals;
  }
  EXPECT_EQ(steps, 40);
  EXPECT_EQ(probed, 5);  // steps 1, 10, 20, 30, 40
  EXPECT_EQ(evals, 2);   // step 20 and the end
  EXPECT_LT(records[records.size() - 2]["loss"].get<double>(), 2.0);
}

TEST(TrainCommand, DefaultLogGoesToRunsDirectory) {
  testing::TempDir dir;
  const testing::ShellResult r =
      testing::run_shell("cd " + dir.path().string() + " && " + GRADSCOPE_CLI_PATH +
                         " train --depth 2 --width 8 --steps 3 --batch 4");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("run log: runs/train-teacher-"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::is_directory(dir / "runs"));
}

TEST(TrainCommand, NonFiniteStopsNamingStepAndLayer) {
  testing::TempDir dir;
  const std::string log = dir / "run.jsonl";
  const testing::ShellResult r = gradscope(
      "train --depth 4 --width 32 --act relu --init he --optimizer sgd --lr 1e6 --steps 200 "
      "--log " +
      log);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("non-finite"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("step "), std::string::npos) << r.err;
  const std::vector<nlohmann::json> records = parse_log(log);
  EXPECT_EQ(records.back()["type"], "end");
  EXPECT_EQ(records.back()["status"], "stopped");
  const nlohmann::json& last_step = records[records.size() - 2];
  EXPECT_TRUE(last_step["nonfinite"]["loss"].get<bool>() ||
              last_step["nonfinite"]["grad"].get<bool>());
  EXPECT_TRUE(last_step["skipped"].get<bool>());
}

TEST(TrainCommand, NonFiniteSkipGoesOn) {
  testing::TempDir dir;
  const std::string log = dir / "run.jsonl";
  const testing::ShellResult r = gradscope(
      "train --depth 4 --width 32 --act relu --init he --optimizer sgd --lr 1e6 --steps 30 "
      "--on-nonfinite skip --json --log " +
      log);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json summary = nlohmann::json::parse(r.out);
  EXPECT_GT(summary["skipped"].get<long>(), 0);
  EXPECT_EQ(summary["steps"], 30);
}

// kill -9 in the middle of training: every complete line of the log still parses.
TEST(TrainCommand, KilledRunKeepsEveryRecordWritten) {
  testing::TempDir dir;
  const std::string log = dir / "run.jsonl";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::freopen("/dev/null", "w", stderr);
    ::execl(GRADSCOPE_CLI_PATH, GRADSCOPE_CLI_PATH, "train", "--depth", "8", "--width", "64",
            "--steps", "100000000", "--probe-every", "1", "--log", log.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Wait until a good number of records is on disk, then kill without warning.
  for (int i = 0; i < 600 && testing::read_lines(log).size() < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));

  const std::string text = testing::read_file(log);
  const std::vector<std::string> lines = testing::read_lines(log);
  ASSERT_GE(lines.size(), 50u);
  const bool ends_cleanly = !text.empty() && text.back() == '\n';
  const std::size_t complete = ends_cleanly ? lines.size() : lines.size() - 1;
  for (std::size_t i = 0; i < complete; ++i) {
    EXPECT_TRUE(nlohmann::json::accept(lines[i])) << "line " << i + 1;
  }
  EXPECT_EQ(nlohmann::json::parse(lines[0])["type"], "header");

  // The doctor's reader takes the killed run as it is: no Error, and every step up to the kill,
  // in order, with its values.
  long written_steps = 0;
  for (std::size_t i = 0; i < complete; ++i) {
    if (nlohmann::json::parse(lines[i])["type"] == "step") ++written_steps;
  }
  const RunLogFile parsed = read_run_log(log);
  ASSERT_EQ(parsed.runs.size(), 1u);
  const LoggedRun& run = parsed.runs[0];
  EXPECT_FALSE(run.end);
  ASSERT_EQ(static_cast<long>(run.steps.size()), written_steps);
  for (std::size_t i = 0; i < run.steps.size(); ++i) {
    EXPECT_EQ(run.steps[i].step, static_cast<long>(i) + 1);
    EXPECT_TRUE(run.steps[i].loss);
    EXPECT_EQ(run.steps[i].layers.size(), 8u);  // --probe-every 1, depth 8
  }
  if (ends_cleanly) {
    EXPECT_TRUE(parsed.issues.empty()) << parsed.issues.front().message;
  } else {  // only a torn last line is reported
    ASSERT_EQ(parsed.issues.size(), 1u);
    EXPECT_EQ(parsed.issues[0].line, static_cast<long>(lines.size()));
  }
}

}  // namespace
}  // namespace gradscope
