#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "support/shell.hpp"

namespace gradscope {
namespace {

testing::ShellResult gradscope(const std::string& args) {
  return testing::run_shell(std::string(GRADSCOPE_CLI_PATH) + " " + args);
}

TEST(ProbeCommand, JsonHasOneRecordPerLayerAndTheRatio) {
  const testing::ShellResult r = gradscope("probe --depth 6 --width 32 --batch 16 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["layers"].size(), 6u);
  EXPECT_EQ(j["layers"][0]["index"], 1);
  const double ratio = j["ratio_first_last"];
  EXPECT_NEAR(ratio,
              j["layers"][0]["grad_norm"].get<double>() / j["layers"][5]["grad_norm"].get<double>(),
              1e-12 * ratio);
  for (const char* field : {"grad_norm", "grad_norm_batch", "weight_grad_norm", "weight_norm",
                            "rel_dist_init", "saturated", "dead", "nonfinite"}) {
    EXPECT_TRUE(j["layers"][2].contains(field)) << field;
  }
}

TEST(ProbeCommand, TablePrintsEveryLayerInputFirst) {
  const testing::ShellResult r = gradscope("probe --depth 4 --width 16 --act relu --init he");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ratio_first_last"), std::string::npos);
  EXPECT_LT(r.out.find("\n    1 "), r.out.find("\n    4 "));
}

TEST(ProbeCommand, RegimesSlopesEqualMinusLogRho) {
  const testing::ShellResult r = gradscope("probe --regimes --depth 30 --width 64 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["regimes"].size(), 3u);
  for (const nlohmann::json& regime : j["regimes"]) {
    const double rho = regime["rho"];
    EXPECT_NEAR(regime["slope"].get<double>(), -std::log10(rho), 1e-9) << rho;
    ASSERT_EQ(regime["log10_grad_norm"].size(), 30u);
    // ||dL/dh_1|| / ||dL/dh_L|| = rho^(L-1) exactly for orthogonal Q.
    const double span =
        regime["log10_grad_norm"][0].get<double>() - regime["log10_grad_norm"][29].get<double>();
    EXPECT_NEAR(span, 29 * std::log10(rho), 1e-9) << rho;
  }
}

TEST(ProbeCommand, RegimesTableIsTheMainJob) {
  const testing::ShellResult r = gradscope("probe --regimes --width 32 --batch 8");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("rho=0.9"), std::string::npos);
  EXPECT_NE(r.out.find("rho=1.1"), std::string::npos);
  EXPECT_NE(r.out.find("\n    50 "), std::string::npos) << "default depth 50";
}

}  // namespace
}  // namespace gradscope
