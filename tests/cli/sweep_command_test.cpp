// gradscope sweep end to end: the same results on 1 thread, 2 threads and 2 MPI ranks; a sweep
// killed part-way resumes with only the missing points; bad grids get one line with the key and
// the line, exit 2 and no results file; failed points are recorded; --summarize; a killed sweep's
// scratch folder (named with its pid) is removed by the next sweep, and only such folders are.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/shell.hpp"

extern char** environ;

namespace gradscope {
namespace {

using ordered_json = nlohmann::ordered_json;

const std::string kCli = GRADSCOPE_CLI_PATH;

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Runs `gradscope <args>` in `dir` with TMPDIR there too (the points' scratch folders).
testing::ShellResult sweep_in(const testing::TempDir& dir, const std::string& args) {
  const std::string at = dir.path().string();
  return testing::run_shell("cd " + at + " && TMPDIR=" + at + " " + kCli + " " + args);
}

// 8 points of small probes: depth x act x 2 seeds.
constexpr const char* kProbeGrid = R"({
  "command": "probe",
  "base": {"width": 8, "batch": 4},
  "axes": {"depth": [2, 6], "act": ["tanh", "relu"]},
  "seeds": [0, 1]
})";

TEST(SweepCommand, OneThreadTwoThreadsAndTwoMpiRanksWriteIdenticalFiles) {
  const testing::TempDir dir;
  write_text(dir / "grid.json", kProbeGrid);
  const testing::ShellResult one = sweep_in(dir, "sweep grid.json --out one.jsonl --jobs 1");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const testing::ShellResult two = sweep_in(dir, "sweep grid.json --out two.jsonl --jobs 2");
  ASSERT_EQ(two.exit_code, 0) << two.err;

  // No skipping: CI installs Open MPI (scripts/install-deps.sh) and this build must use it.
  ASSERT_EQ(testing::run_shell("command -v mpirun").exit_code, 0)
      << "mpirun is missing: run scripts/install-deps.sh (Debian's openmpi-bin)";
  const testing::ShellResult version = testing::run_shell(kCli + " --version");
  ASSERT_THAT(version.out, ::testing::HasSubstr("MPI: yes")) << "gradscope was built without MPI";
  // Open MPI's own allocations are not ours to fix: no leak check for the ranks under ASan.
  const std::string at = dir.path().string();
  const auto mpirun = [&](const std::string& args) {
    return testing::run_shell("cd " + at + " && TMPDIR=" + at +
                              " ASAN_OPTIONS=detect_leaks=0 mpirun -np 2 --allow-run-as-root "
                              "--oversubscribe " +
                              kCli + " sweep grid.json " + args);
  };
  // Rank 0 hands out the points (the default), two threads per rank; and the static shares.
  const testing::ShellResult ranks = mpirun("--out ranks.jsonl --jobs 2");
  ASSERT_EQ(ranks.exit_code, 0) << ranks.out << ranks.err;
  EXPECT_THAT(ranks.out, ::testing::HasSubstr("2 ranks x 2 threads"));
  const testing::ShellResult shares = mpirun("--out static.jsonl --jobs 1 --schedule static");
  ASSERT_EQ(shares.exit_code, 0) << shares.out << shares.err;

  const std::vector<std::string> lines = testing::read_lines(dir / "one.jsonl");
  ASSERT_EQ(lines.size(), 8u);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const ordered_json record = ordered_json::parse(lines[i]);
    EXPECT_EQ(record["point"], i);
    EXPECT_EQ(record["status"], "ok") << lines[i];
    EXPECT_TRUE(record["result"]["ratio_first_last"].is_number()) << lines[i];
    EXPECT_EQ(record["settings"]["width"], 8);
  }
  EXPECT_EQ(ordered_json::parse(lines[5])["settings"].dump(),
            R"({"width":8,"batch":4,"depth":6,"act":"tanh","seed":1})");
  // Byte for byte, already in point order.
  EXPECT_EQ(testing::read_file(dir / "two.jsonl"), testing::read_file(dir / "one.jsonl"));
  EXPECT_EQ(testing::read_file(dir / "ranks.jsonl"), testing::read_file(dir / "one.jsonl"));
  EXPECT_EQ(testing::read_file(dir / "static.jsonl"), testing::read_file(dir / "one.jsonl"));
}

// The lines a killed sweep finished. SIGKILL can land inside the write(2) of a line (the kernel
// stops a write between pages when a fatal signal is pending), leaving it cut short; the resumed
// sweep drops such a line, so only newline-terminated lines count.
std::size_t complete_lines(const std::string& path) {
  const std::string text = testing::read_file(path);
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// Starts `gradscope <args>` in `dir` without waiting; returns its pid.
pid_t start_in(const testing::TempDir& dir, const std::string& args) {
  const std::string at = dir.path().string();
  std::string command = "cd " + at + " && TMPDIR=" + at + " exec " + kCli + " " + args + " >" + at +
                        "/killed.out 2>" + at + "/killed.err";
  std::vector<char*> argv = {const_cast<char*>("/bin/sh"), const_cast<char*>("-c"), command.data(),
                             nullptr};
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv.data(), environ), 0);
  return pid;
}

TEST(SweepCommand, KilledSweepResumesOnlyTheMissingPoints) {
  const testing::TempDir dir;
  constexpr std::size_t kPoints = 16;
  write_text(dir / "grid.json", R"({"command": "probe",
    "base": {"width": 32, "batch": 8, "act": "tanh"},
    "axes": {"depth": [10, 20]},
    "seeds": [0, 1, 2, 3, 4, 5, 6, 7]})");
  const testing::ShellResult whole = sweep_in(dir, "sweep grid.json --out whole.jsonl --jobs 1");
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  ASSERT_EQ(testing::read_lines(dir / "whole.jsonl").size(), kPoints);

  const pid_t pid = start_in(dir, "sweep grid.json --out part.jsonl --jobs 1");
  ASSERT_GT(pid, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (complete_lines(dir / "part.jsonl") < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the sweep finished before it could be killed";
  const std::size_t kept = complete_lines(dir / "part.jsonl");
  ASSERT_GE(kept, 3u);
  ASSERT_LT(kept, kPoints) << "the sweep finished before it was killed";

  const testing::ShellResult rerun =
      sweep_in(dir, "sweep grid.json --out part.jsonl --jobs 2 --json");
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  const nlohmann::json summary = nlohmann::json::parse(rerun.out);
  EXPECT_EQ(summary["skipped"], kept);
  EXPECT_EQ(summary["ran"], kPoints - kept) << "only the missing points run again";
  EXPECT_EQ(summary["ok"], kPoints);
  EXPECT_EQ(testing::read_file(dir / "part.jsonl"), testing::read_file(dir / "whole.jsonl"));

  // A third run has nothing left to do and leaves the file as it is.
  const testing::ShellResult again = sweep_in(dir, "sweep grid.json --out part.jsonl --json");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(nlohmann::json::parse(again.out)["ran"], 0);
  EXPECT_EQ(testing::read_file(dir / "part.jsonl"), testing::read_file(dir / "whole.jsonl"));
}

// A bad grid: exit 2, one line naming the file, the line and the key, no results file.
void expect_refused(const std::string& grid, const std::string& must_mention) {
  const testing::TempDir dir;
  write_text(dir / "grid.json", grid);
  const testing::ShellResult r = sweep_in(dir, "sweep grid.json --out out.jsonl");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_THAT(r.err, ::testing::HasSubstr(must_mention));
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir / "out.jsonl")) << "no results file";
}

TEST(SweepCommand, UnknownAxisIsRefusedWithKeyAndLine) {
  expect_refused(
      "{\n  \"command\": \"probe\",\n  \"axes\": {\n    \"depth\": [2],\n"
      "    \"sigma_w2\": [1.0]\n  }\n}",
      "grid.json:5: axes.sigma_w2: gradscope probe has no flag --sigma_w2");
}

TEST(SweepCommand, EmptyValuesAreRefusedWithKeyAndLine) {
  expect_refused("{\"command\": \"probe\",\n \"axes\": {\"depth\": [2, 4],\n  \"act\": []}}",
                 "grid.json:3: axes.act: an axis needs at least one value");
}

TEST(SweepCommand, TypeErrorIsRefusedWithKeyAndLine) {
  expect_refused("{\"command\": \"train\",\n \"axes\": {\"depth\": [2,\n \"four\"]}}",
                 "grid.json:3: axes.depth[1]: --depth takes an integer, got a string");
}

TEST(SweepCommand, ValueTheFlagRefusesIsRefusedWithKeyAndLine) {
  expect_refused("{\"command\": \"probe\",\n \"axes\": {\"act\": [\"tanh\",\n \"swish\"]}}",
                 "grid.json:3: axes.act[1]: --act");
}

TEST(SweepCommand, UnknownCommandIsRefusedWithKeyAndLine) {
  expect_refused("{\n  \"command\": \"doctor\",\n  \"axes\": {}\n}",
                 "grid.json:2: command: unknown command 'doctor'");
}

TEST(SweepCommand, MalformedJsonIsRefusedWithLineAndColumn) {
  expect_refused("{\"command\": \"probe\",\n \"axes\": {\"depth\": [2 4]}}", "grid.json:2:");
}

TEST(SweepCommand, ResultsOfAnotherGridAreNotResumed) {
  const testing::TempDir dir;
  write_text(dir / "grid.json", kProbeGrid);
  ASSERT_EQ(sweep_in(dir, "sweep grid.json --out r.jsonl").exit_code, 0);
  const std::string before = testing::read_file(dir / "r.jsonl");
  write_text(dir / "grid.json", R"({"command": "probe", "axes": {"depth": [3, 5]}})");
  const testing::ShellResult r = sweep_in(dir, "sweep grid.json --out r.jsonl");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, ::testing::HasSubstr("point 0 was recorded with other settings"));
  EXPECT_EQ(testing::read_file(dir / "r.jsonl"), before) << "the file is left alone";
}

TEST(SweepCommand, TrainPointsCarryLossAndGradientProfileAndFailuresAreRecorded) {
  const testing::TempDir dir;
  // --init he with --sigma-w2 is refused by train: that point fails, the others run.
  write_text(dir / "grid.json", R"({"command": "train",
    "base": {"depth": 3, "width": 8, "batch": 8, "steps": 20, "probe-every": 5, "sigma-w2": 1},
    "axes": {"init": ["gaussian", "he"]}})");
  const testing::ShellResult r = sweep_in(dir, "sweep grid.json --out r.jsonl --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json summary = nlohmann::json::parse(r.out);
  EXPECT_EQ(summary["ok"], 1);
  EXPECT_EQ(summary["failed"], 1);
  const std::vector<std::string> lines = testing::read_lines(dir / "r.jsonl");
  ASSERT_EQ(lines.size(), 2u);
  const ordered_json ok = ordered_json::parse(lines[0]);
  EXPECT_EQ(ok["status"], "ok");
  EXPECT_TRUE(ok["result"]["final_loss"].is_number()) << lines[0];
  EXPECT_TRUE(ok["result"]["test"]["loss"].is_number()) << lines[0];
  EXPECT_FALSE(ok["result"].contains("seconds")) << "no wall time in a result";
  EXPECT_EQ(ok["result"]["gradient_profile"]["grad_norm"].size(), 3u) << lines[0];
  const ordered_json failed = ordered_json::parse(lines[1]);
  EXPECT_EQ(failed["status"], "failed");
  EXPECT_THAT(failed["reason"].get<std::string>(), ::testing::HasSubstr("--sigma-w2"));
  EXPECT_FALSE(std::filesystem::exists(dir / "runs")) << "no default run logs";
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_FALSE(entry.is_directory()) << "scratch left behind: " << entry.path();
  }
}

// The folders directly in `dir`, by name.
std::vector<std::string> folders_in(const testing::TempDir& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

void make_folder_with_file(const testing::TempDir& dir, const std::string& name) {
  ASSERT_TRUE(std::filesystem::create_directory(dir.path() / name)) << name;
  write_text(dir / (name + "/point-0.out"), "partial output");
}

// A pid that no process has: a child's, once it has exited and been reaped.
pid_t dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  EXPECT_GT(child, 0);
  int status = 0;
  EXPECT_EQ(::waitpid(child, &status, 0), child);
  const int sent = ::kill(child, 0);
  const int error = errno;
  EXPECT_EQ(sent, -1);
  EXPECT_EQ(error, ESRCH);
  return child;
}

TEST(SweepCommand, SweepRemovesScratchFoldersOfDeadPidsOnly) {
  const testing::TempDir dir;
  const std::string dead_id = std::to_string(dead_pid());
  const std::string dead = "gradscope-sweep-" + dead_id + "-aB3xYz";
  // Kept: the owner is alive (this test), or the name does not say who the owner is.
  const std::vector<std::string> kept = {
      "gradscope-sweep-" + std::to_string(::getpid()) + "-aB3xYz", "gradscope-sweep-abc-XXXX",
      "gradscope-sweep-Q1w2E3",      // old style, no pid
      "gradscope-sweep-" + dead_id,  // no dash after the digits: old style too
      "unrelated"};
  make_folder_with_file(dir, dead);
  for (const std::string& name : kept) make_folder_with_file(dir, name);

  write_text(dir / "grid.json", R"({"command": "probe", "base": {"width": 8, "batch": 4},
    "axes": {"depth": [2]}})");
  const testing::ShellResult r = sweep_in(dir, "sweep grid.json --out r.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / dead)) << "the dead sweep's folder is removed";
  // The kept folders with their files, and no scratch of this sweep (its destructor removed it).
  std::vector<std::string> expected = kept;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(folders_in(dir), expected);
  for (const std::string& name : kept) {
    EXPECT_EQ(testing::read_file(dir / (name + "/point-0.out")), "partial output") << name;
  }
}

TEST(SweepCommand, KilledSweepsScratchFolderIsNamedWithItsPidAndRemovedByTheNextSweep) {
  const testing::TempDir dir;
  write_text(dir / "grid.json", R"({"command": "probe",
    "base": {"width": 32, "batch": 8, "act": "tanh"},
    "axes": {"depth": [10, 20]},
    "seeds": [0, 1, 2, 3, 4, 5, 6, 7]})");
  const pid_t pid = start_in(dir, "sweep grid.json --out part.jsonl --jobs 1");
  ASSERT_GT(pid, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (folders_in(dir).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the sweep finished before it could be killed";
  const std::vector<std::string> left = folders_in(dir);
  ASSERT_EQ(left.size(), 1u) << "the killed sweep leaves its scratch folder";
  // start_in execs the sweep, so its pid is the sweep's own.
  const std::string prefix = "gradscope-sweep-" + std::to_string(pid) + "-";
  EXPECT_EQ(left[0].rfind(prefix, 0), 0u) << left[0];
  EXPECT_EQ(left[0].size(), prefix.size() + 6) << left[0];

  const testing::ShellResult rerun = sweep_in(dir, "sweep grid.json --out part.jsonl");
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_TRUE(folders_in(dir).empty()) << "the next sweep removes it, then its own";
}

TEST(SweepCommand, SummarizePivotsOnTwoAxes) {
  const testing::TempDir dir;
  write_text(dir / "grid.json", kProbeGrid);
  ASSERT_EQ(sweep_in(dir, "sweep grid.json --out r.jsonl").exit_code, 0);
  const testing::ShellResult table =
      sweep_in(dir, "sweep --summarize r.jsonl --rows depth --cols act");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, ::testing::HasSubstr("mean of log10(ratio_first_last) over seed"));
  EXPECT_THAT(table.out, ::testing::HasSubstr("depth \\ act"));
  const testing::ShellResult json =
      sweep_in(dir, "sweep --summarize r.jsonl --rows depth --cols act --value loss --json");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const nlohmann::json pivot = nlohmann::json::parse(json.out);
  EXPECT_EQ(pivot["row_values"], nlohmann::json({2, 6}));
  EXPECT_EQ(pivot["col_values"], nlohmann::json({"tanh", "relu"}));
  EXPECT_EQ(pivot["count"][0][0], 2);

  const testing::ShellResult bad =
      sweep_in(dir, "sweep --summarize r.jsonl --rows depth --cols width2");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
  EXPECT_THAT(bad.err, ::testing::HasSubstr("'width2' is not a setting"));
  const testing::ShellResult field =
      sweep_in(dir, "sweep --summarize r.jsonl --rows depth --cols act --value nope");
  EXPECT_EQ(field.exit_code, 2);
  EXPECT_THAT(field.err, ::testing::HasSubstr("--value nope"));
}

}  // namespace
}  // namespace gradscope
