// gradscope doctor --fix on real runs: the three cases (deep sigmoid MLP, exploding RNN,
// vanilla RNN on the long adding problem), with the pathology suite's flags
// (src/doctor/pathology_suite.cpp), must come out healthy within the default budget.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "support/shell.hpp"

namespace gradscope {
namespace {

struct FixRun {
  testing::ShellResult shell;
  nlohmann::json report;
  double seconds = 0.0;
};

FixRun doctor_fix(const std::string& flags) {
  const auto start = std::chrono::steady_clock::now();
  FixRun run;
  run.shell = testing::run_shell(std::string(GRADSCOPE_CLI_PATH) + " doctor --json --fix " + flags);
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.report = nlohmann::json::parse(run.shell.out, nullptr, /*allow_exceptions=*/false);
  return run;
}

// Fixed within the budget: the "before" run has `primary` as its primary finding, the last
// candidate trained healthy, and the fix is reported.
void expect_fixed(const FixRun& run, const std::string& primary) {
  ASSERT_EQ(run.shell.exit_code, 0) << run.shell.out << run.shell.err;
  ASSERT_TRUE(run.report.is_object()) << run.shell.out;
  const nlohmann::json& r = run.report;
  EXPECT_FALSE(r["healthy_before"].get<bool>());
  ASSERT_FALSE(r["before"]["findings"].empty());
  EXPECT_EQ(r["before"]["findings"][0]["code"], primary);
  EXPECT_TRUE(r["fixed"].get<bool>());
  ASSERT_FALSE(r["candidates"].empty());
  const nlohmann::json& last = r["candidates"].back();
  EXPECT_TRUE(last["healthy"].get<bool>());
  EXPECT_TRUE(last["findings"].empty());
  EXPECT_EQ(last["flags"], r["fixed_flags"]);
  EXPECT_FALSE(r["fix"].empty());
  EXPECT_LT(run.seconds, 60.0);
}

TEST(DoctorFix, DeepSigmoidMlp) {
  const FixRun run = doctor_fix("--width 32 --batch 32 --depth 20 --act sigmoid --seed 1");
  expect_fixed(run, "vanishing_gradient");
  EXPECT_EQ(run.report["candidates"][0]["cheap_check"], "improved");
}

TEST(DoctorFix, ExplodingRnn) {
  const FixRun run = doctor_fix(
      "--model rnn --task adding --hidden 16 --batch 16 --seq 50 --rho 1.5 --optimizer sgd "
      "--lr 0.1 --seed 10");
  expect_fixed(run, "exploding_gradient");
}

TEST(DoctorFix, LongAddingVanillaRnn) {
  const FixRun run =
      doctor_fix("--model rnn --task adding --hidden 16 --batch 16 --seq 100 --seed 12");
  expect_fixed(run, "vanishing_through_time");
}

TEST(DoctorFix, HealthyRunNeedsNoFix) {
  const FixRun run = doctor_fix("--width 32 --batch 32 --depth 20 --act relu --init he --seed 30");
  ASSERT_EQ(run.shell.exit_code, 0) << run.shell.out << run.shell.err;
  EXPECT_TRUE(run.report["healthy_before"].get<bool>());
  EXPECT_FALSE(run.report["fixed"].get<bool>());
  EXPECT_TRUE(run.report["candidates"].empty());
}

TEST(DoctorFix, CombinesAFixWithTheNextFinding) {
  // rho = 3: orthogonal W_hh with rho 1 cures the explosion but leaves vanishing through time,
  // which the LSTM then cures on top of it.
  const FixRun run =
      doctor_fix("--model rnn --task adding --hidden 16 --batch 16 --seq 50 --rho 3 --seed 11");
  expect_fixed(run, "exploding_gradient");
  ASSERT_EQ(run.report["candidates"].size(), 2U);
  EXPECT_EQ(run.report["candidates"][1]["target"], "vanishing_through_time");
}

TEST(DoctorFix, NotFixedWithinTheBudgetExitsThree) {
  const FixRun run = doctor_fix(
      "--fix-candidates 1 --model rnn --task adding --hidden 16 --batch 16 --seq 50 --rho 3 "
      "--seed 11");
  EXPECT_EQ(run.shell.exit_code, 3) << run.shell.out << run.shell.err;
  EXPECT_FALSE(run.report["fixed"].get<bool>());
  EXPECT_TRUE(run.report["fixed_flags"].empty());
  ASSERT_EQ(run.report["candidates"].size(), 1U);
  EXPECT_FALSE(run.report["candidates"][0]["healthy"].get<bool>());
}

TEST(DoctorFix, BadFlagsExitTwoWithTrainsMessage) {
  const testing::ShellResult r =
      testing::run_shell(std::string(GRADSCOPE_CLI_PATH) + " doctor --fix --depth 20 --act swish");
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("--act"), std::string::npos) << r.err;
  const testing::ShellResult mixed = testing::run_shell(std::string(GRADSCOPE_CLI_PATH) +
                                                        " doctor --fix --model rnn --task teacher");
  EXPECT_EQ(mixed.exit_code, 2) << mixed.out << mixed.err;
  EXPECT_NE(mixed.err.find("not a sequence task"), std::string::npos) << mixed.err;
  const testing::ShellResult none =
      testing::run_shell(std::string(GRADSCOPE_CLI_PATH) + " doctor --fix");
  EXPECT_EQ(none.exit_code, 2) << none.out << none.err;
}

TEST(DoctorFix, PrintsABeforeAfterTable) {
  const testing::ShellResult r =
      testing::run_shell(std::string(GRADSCOPE_CLI_PATH) +
                         " doctor --fix --width 32 --batch 32 --depth 20 --act sigmoid --seed 1");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("before"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("vanishing_gradient"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fixed by: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fixed command: gradscope train "), std::string::npos) << r.out;
}

}  // namespace
}  // namespace gradscope
