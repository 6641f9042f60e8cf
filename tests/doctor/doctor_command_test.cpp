// gradscope doctor through the CLI: exit codes, the text and JSON reports, reading issues, and
// the whole pathology suite with its confusion matrix (every case right, no healthy run flagged).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/shell.hpp"

namespace gradscope {
namespace {

testing::ShellResult gradscope(const std::string& args) {
  return testing::run_shell(std::string(GRADSCOPE_CLI_PATH) + " " + args);
}

void train(const std::string& flags, const std::string& log) {
  const testing::ShellResult r =
      gradscope("train " + flags + " --log " + log + " --progress-every 0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

TEST(DoctorCommand, HealthyRunExitsZero) {
  testing::TempDir dir;
  const std::string log = dir / "healthy.jsonl";
  train("--depth 10 --width 32 --batch 32 --steps 100 --act relu --init he --seed 1", log);
  const testing::ShellResult r = gradscope("doctor " + log);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("healthy"), std::string::npos);
  const testing::ShellResult j = gradscope("doctor --json " + log);
  EXPECT_EQ(j.exit_code, 0);
  const nlohmann::json report = nlohmann::json::parse(j.out);
  EXPECT_TRUE(report["findings"].empty());
  EXPECT_EQ(report["runs"], 1);
}

TEST(DoctorCommand, DeepSigmoidIsVanishingWithEvidenceAndFlags) {
  testing::TempDir dir;
  const std::string log = dir / "sigmoid.jsonl";
  train("--depth 20 --width 32 --batch 32 --steps 100 --act sigmoid --seed 1", log);
  const testing::ShellResult r = gradscope("doctor " + log);
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("vanishing_gradient"), std::string::npos);
  EXPECT_NE(r.out.find("flags: --act relu --init he"), std::string::npos) << r.out;
  const testing::ShellResult j = gradscope("doctor --json " + log);
  EXPECT_EQ(j.exit_code, 3);
  const nlohmann::json report = nlohmann::json::parse(j.out);
  ASSERT_FALSE(report["findings"].empty());
  const nlohmann::json& f = report["findings"][0];
  EXPECT_EQ(f["code"], "vanishing_gradient");
  EXPECT_TRUE(f["severity"] == "critical" || f["severity"] == "warning");
  EXPECT_FALSE(f["evidence"].empty());
  EXPECT_GT(f["data"]["decades"].get<double>(), 6.0);
  EXPECT_EQ(f["prescriptions"][0]["flags"], nlohmann::json({"--act", "relu", "--init", "he"}));
}

TEST(DoctorCommand, ReadingIssuesAreWarningsAndTheRestIsDiagnosed) {
  testing::TempDir dir;
  const std::string log = dir / "cut.jsonl";
  train("--depth 20 --width 32 --batch 32 --steps 100 --act sigmoid --seed 1", log);
  {
    std::ofstream out(log, std::ios::app);
    out << "{\"type\":\"step\",\"step\":101,\"lo";  // a killed writer
  }
  const testing::ShellResult r = gradscope("doctor --json " + log);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("warning"), std::string::npos) << r.err;
  const nlohmann::json report = nlohmann::json::parse(r.out);
  ASSERT_FALSE(report["issues"].empty());
  EXPECT_GT(report["issues"][0]["line"].get<long>(), 100);
  EXPECT_EQ(report["findings"][0]["code"], "vanishing_gradient");
}

TEST(DoctorCommand, BadInputExitsTwo) {
  testing::TempDir dir;
  const std::string empty = dir / "empty.jsonl";
  std::ofstream(empty).close();
  EXPECT_EQ(gradscope("doctor " + empty).exit_code, 2);
  EXPECT_EQ(gradscope("doctor " + (dir / "missing.jsonl")).exit_code, 2);
  EXPECT_EQ(gradscope("doctor").exit_code, 2);
}

// The pathology suite: every pathological run gets its true primary finding, no healthy run gets
// a finding. About 40 short runs.
TEST(DoctorCommand, EvaluateGivesAPerfectConfusionMatrix) {
  const testing::ShellResult r = gradscope("doctor --evaluate --json");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const nlohmann::json report = nlohmann::json::parse(r.out);
  const nlohmann::json& ours = report["ours"];
  EXPECT_EQ(ours["correct"], ours["total"]);
  EXPECT_GE(ours["total"].get<long>(), 32);
  long healthy = 0;
  long pathological = 0;
  for (const nlohmann::json& c : report["cases"]) {
    EXPECT_EQ(c["ours"], c["expected"]) << c["name"];
    (c["expected"] == "healthy" ? healthy : pathological) += 1;
  }
  EXPECT_GE(healthy, 8);
  EXPECT_GE(pathological, 24);
  // The baseline is scored on the same suite.
  EXPECT_EQ(report["autotrainer"]["total"], ours["total"]);
}

}  // namespace
}  // namespace gradscope
