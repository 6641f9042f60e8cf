#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "support/shell.hpp"

namespace gradscope {
namespace {

testing::ShellResult gradscope(const std::string& args) {
  return testing::run_shell(std::string(GRADSCOPE_CLI_PATH) + " " + args);
}

TEST(PhaseCommand, JsonAtTheCriticalPointOfTanh) {
  const testing::ShellResult r = gradscope("phase --act tanh --sigma-b2 0.05 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j["critical_sigma_w2"].get<double>(), 1.761, 0.005 * 1.761);
  // Without --sigma-w2 the point is the critical one.
  EXPECT_EQ(j["sigma_w2"], j["critical_sigma_w2"]);
  EXPECT_EQ(j["phase"], "critical");
  EXPECT_NEAR(j["chi1"].get<double>(), 1.0, 1e-9);
  EXPECT_NEAR(j["q_star"].get<double>(), 0.570048, 1e-6);
  EXPECT_TRUE(j["xi_c"].is_null() || j["xi_c"].get<double>() > 1e9) << j["xi_c"];
  for (const char* field : {"activation", "sigma_b2", "xi_q", "c_star", "trainable_depth"}) {
    EXPECT_TRUE(j.contains(field)) << field;
  }
}

TEST(PhaseCommand, JsonOfOrderedAndChaoticPoints) {
  const testing::ShellResult ordered =
      gradscope("phase --act tanh --sigma-w2 1 --sigma-b2 0.05 --json --seed 7");
  ASSERT_EQ(ordered.exit_code, 0) << ordered.err;
  const nlohmann::json o = nlohmann::json::parse(ordered.out);
  EXPECT_EQ(o["phase"], "ordered");
  EXPECT_NEAR(o["chi1"].get<double>(), 0.7590316471853936, 1e-9);
  EXPECT_EQ(o["c_star"], 1.0);
  EXPECT_NEAR(o["trainable_depth"].get<double>(), 6.0 * o["xi_c"].get<double>(), 1e-9);

  const testing::ShellResult chaotic = gradscope("phase --act tanh --sigma-w2 3 --json");
  ASSERT_EQ(chaotic.exit_code, 0) << chaotic.err;
  const nlohmann::json c = nlohmann::json::parse(chaotic.out);
  EXPECT_EQ(c["phase"], "chaotic");
  EXPECT_LT(c["c_star"].get<double>(), 1.0);

  // ReLU past sigma_w^2 = 2: no finite fixed point, the undefined values are null.
  const testing::ShellResult relu = gradscope("phase --act relu --sigma-w2 3 --json");
  ASSERT_EQ(relu.exit_code, 0) << relu.err;
  const nlohmann::json x = nlohmann::json::parse(relu.out);
  EXPECT_NEAR(x["critical_sigma_w2"].get<double>(), 2.0, 1e-9);
  EXPECT_TRUE(x["q_star"].is_null());
  EXPECT_TRUE(x["xi_c"].is_null());
  EXPECT_EQ(x["phase"], "chaotic");
}

TEST(PhaseCommand, GridJsonHasEveryPointAndTheCriticalLine) {
  const testing::ShellResult r = gradscope("phase --act tanh --grid --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["grid"].size(), 15u * 11u);
  for (const nlohmann::json& point : j["grid"]) {
    for (const char* field : {"sigma_w2", "sigma_b2", "chi1", "xi_c", "phase"}) {
      ASSERT_TRUE(point.contains(field)) << field;
    }
    const std::string phase = point["phase"];
    EXPECT_TRUE(phase == "ordered" || phase == "critical" || phase == "chaotic") << phase;
  }
  EXPECT_EQ(j["grid"].front()["sigma_w2"], 0.5);
  EXPECT_EQ(j["grid"].back()["sigma_w2"], 4.0);
  EXPECT_NEAR(j["grid"].back()["sigma_b2"].get<double>(), 0.5, 1e-12);
  ASSERT_EQ(j["critical_line"].size(), 11u);
  EXPECT_NEAR(j["critical_line"][0]["critical_sigma_w2"].get<double>(), 1.0, 1e-9);
  EXPECT_NEAR(j["critical_line"][1]["sigma_b2"].get<double>(), 0.05, 1e-12);
  EXPECT_NEAR(j["critical_line"][1]["critical_sigma_w2"].get<double>(), 1.761, 0.005 * 1.761);
  EXPECT_NEAR(j["critical_line"][6]["critical_sigma_w2"].get<double>(), 2.505, 0.005 * 2.505);
  // The critical line rises with the bias.
  for (std::size_t k = 1; k < j["critical_line"].size(); ++k) {
    EXPECT_GT(j["critical_line"][k]["critical_sigma_w2"].get<double>(),
              j["critical_line"][k - 1]["critical_sigma_w2"].get<double>());
  }
}

TEST(PhaseCommand, TablesPrintTheQuantities) {
  const testing::ShellResult point = gradscope("phase --act relu --sigma-b2 0.1");
  ASSERT_EQ(point.exit_code, 0) << point.err;
  for (const char* text :
       {"critical sigma_w^2", "chi_1", "xi_c", "c*", "trainable depth", "critical", "inf"}) {
    EXPECT_NE(point.out.find(text), std::string::npos) << text << "\n" << point.out;
  }
  const testing::ShellResult grid = gradscope("phase --act relu --grid");
  ASSERT_EQ(grid.exit_code, 0) << grid.err;
  EXPECT_NE(grid.out.find("0.500 o"), std::string::npos) << grid.out;  // sigma_w^2 = 1
  EXPECT_NE(grid.out.find("critical sigma_w^2"), std::string::npos);
}

struct BadPhaseInput {
  std::string name;
  std::string args;
  std::string must_mention;
};

void PrintTo(const BadPhaseInput& input, std::ostream* out) { *out << input.name; }

class PhaseBadInputTest : public ::testing::TestWithParam<BadPhaseInput> {};

TEST_P(PhaseBadInputTest, OneLineExitTwo) {
  const testing::ShellResult r = gradscope(GetParam().args);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(GetParam().must_mention), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PhaseBadInputTest,
    ::testing::Values(BadPhaseInput{"UnknownActivation", "phase --act swish", "--act"},
                      BadPhaseInput{"UnsupportedActivation", "phase --act identity", "--act"},
                      BadPhaseInput{"NegativeWeightVariance", "phase --sigma-w2 -1", "--sigma-w2"},
                      BadPhaseInput{"NegativeBiasVariance", "phase --sigma-b2 -0.1", "--sigma-b2"},
                      BadPhaseInput{"NanVariance", "phase --sigma-w2 nan --json", "--sigma-w2"},
                      BadPhaseInput{"GridWithAPoint", "phase --grid --sigma-w2 2", "--grid"}));

}  // namespace
}  // namespace gradscope
