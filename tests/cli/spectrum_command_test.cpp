// gradscope spectrum, and the Jacobian spectra `gradscope train --spectrum-every` writes into the
// run log.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "support/shell.hpp"

namespace gradscope {
namespace {

testing::ShellResult gradscope(const std::string& args) {
  return testing::run_shell(std::string(GRADSCOPE_CLI_PATH) + " " + args);
}

TEST(SpectrumCommand, JsonHasPerLayerSpectraAndTheProductSummary) {
  const testing::ShellResult r =
      gradscope("spectrum --depth 8 --width 32 --inputs 32 --act tanh --batch 16 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json out = nlohmann::json::parse(r.out);
  ASSERT_EQ(out["layers"].size(), 8u);
  const nlohmann::json& second = out["layers"][1];
  EXPECT_EQ(second["index"], 2);
  // The radius never exceeds the norm, which never falls below sigma_min.
  EXPECT_LE(second["spectral_radius"].get<double>(), second["spectral_norm"].get<double>() + 1e-12);
  EXPECT_GE(second["spectral_norm"].get<double>(), second["sigma_min"].get<double>());
  EXPECT_TRUE(out["layers"][7]["spectral_radius"].is_null());  // the 10x32 head is not square
  const nlohmann::json& p = out["product"];
  EXPECT_EQ(p["factors"], 6);  // layers 2..7
  EXPECT_EQ(p["lyapunov"].size(), 32u);
  EXPECT_GE(p["log10_sigma_max"].get<double>(), p["log10_sigma_min"].get<double>());
  for (const char* key : {"predicted_log10_ratio", "lyapunov_log10_ratio", "measured_log10_ratio"})
    EXPECT_TRUE(p[key].is_number()) << key;
  EXPECT_NEAR(p["lyapunov_log10_ratio"].get<double>(), p["measured_log10_ratio"].get<double>(),
              1.0);
}

TEST(SpectrumCommand, LyapunovFlagLimitsTheExponents) {
  const testing::ShellResult r = gradscope(
      "spectrum --depth 6 --width 16 --inputs 16 --act relu --init he --lyapunov 3 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["product"]["lyapunov"].size(), 3u);
}

TEST(SpectrumCommand, RecurrentModelReportsStepsAndARecommendedWindow) {
  const testing::ShellResult r =
      gradscope("spectrum --model rnn --hidden 16 --seq 120 --rho 0.9 --batch 8 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json out = nlohmann::json::parse(r.out);
  ASSERT_EQ(out["steps"].size(), 119u);
  EXPECT_EQ(out["steps"][0]["t"], 1);
  const nlohmann::json& p = out["product"];
  EXPECT_EQ(p["span"], "steps 1..119");
  EXPECT_LT(p["lyapunov"][0].get<double>(), 0.0);
  ASSERT_TRUE(p["predicted_horizon"].is_number());
  EXPECT_EQ(p["recommended_tbptt"].get<long>(),
            static_cast<long>(std::ceil(p["predicted_horizon"].get<double>())));

  const testing::ShellResult table =
      gradscope("spectrum --model lstm --hidden 8 --seq 40 --forget-bias 1 --batch 4");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("16x16"), std::string::npos) << table.out;  // the (h, c) state
  EXPECT_NE(table.out.find("recommended truncation window: --tbptt"), std::string::npos);
}

TEST(SpectrumCommand, BadRequestsExitTwoWithOneLine) {
  for (const std::string& args :
       {std::string("spectrum --depth 2"), std::string("spectrum --width 8 --lyapunov 9"),
        std::string("spectrum --sample 500 --batch 4"), std::string("spectrum --lyapunov -1"),
        std::string("spectrum --model rnn --layer 3")}) {
    const testing::ShellResult r = gradscope(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << args;
  }
}

TEST(TrainCommand, SpectrumEveryRecordsJacobianSpectraOnThoseSteps) {
  testing::TempDir dir;
  const std::string log = dir / "run.jsonl";
  const testing::ShellResult r = gradscope(
      "train --depth 5 --width 16 --inputs 8 --batch 16 --steps 30 --probe-every 0 "
      "--spectrum-every 10 --log " +
      log);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int with_spectra = 0;
  for (const std::string& line : testing::read_lines(log)) {
    const nlohmann::json rec = nlohmann::json::parse(line);
    if (rec["type"] != "step" || !rec.contains("layers")) continue;
    const bool expected = rec["step"].get<long>() % 10 == 0;
    const nlohmann::json& layer2 = rec["layers"][1];
    EXPECT_EQ(layer2.contains("jacobian_spectral_norm"), expected) << rec["step"];
    if (!expected) continue;
    ++with_spectra;
    EXPECT_GT(layer2["jacobian_spectral_norm"].get<double>(), 0.0);
    EXPECT_LE(layer2["jacobian_spectral_radius"].get<double>(),
              layer2["jacobian_spectral_norm"].get<double>() + 1e-9);
    EXPECT_TRUE(rec["layers"][4]["jacobian_spectral_radius"].is_null());  // the head
  }
  EXPECT_EQ(with_spectra, 3);

  const std::string rnn_log = dir / "rnn.jsonl";
  const testing::ShellResult rnn = gradscope(
      "train --model gru --hidden 8 --seq 20 --batch 8 --steps 4 --spectrum-every 2 --log " +
      rnn_log);
  ASSERT_EQ(rnn.exit_code, 0) << rnn.err;
  int rnn_spectra = 0;
  for (const std::string& line : testing::read_lines(rnn_log)) {
    const nlohmann::json rec = nlohmann::json::parse(line);
    if (rec["type"] == "step" && rec.contains("layers") &&
        rec["layers"][0].contains("jacobian_spectral_radius")) {
      ++rnn_spectra;
      EXPECT_GT(rec["layers"][0]["jacobian_spectral_radius"].get<double>(), 0.0);
    }
  }
  EXPECT_EQ(rnn_spectra, 2);
}

}  // namespace
}  // namespace gradscope
