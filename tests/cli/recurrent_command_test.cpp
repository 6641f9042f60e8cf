// The commands on recurrent models and on the depth mitigations, end to end.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "gradscope/io/safetensors.hpp"
#include "support/shell.hpp"

namespace gradscope {
namespace {

testing::ShellResult gradscope(const std::string& args) {
  return testing::run_shell(std::string(GRADSCOPE_CLI_PATH) + " " + args);
}

TEST(RecurrentCommands, ProbePrintsTheGradientAtEveryTimeStep) {
  const testing::ShellResult r =
      gradscope("probe --model lstm --task adding --seq 12 --hidden 8 --batch 4 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["time_steps"].size(), 12u);
  EXPECT_EQ(j["time_steps"][0]["t"], 1);
  EXPECT_EQ(j["time_steps"][11]["t"], 12);
  for (const nlohmann::json& step : j["time_steps"]) {
    EXPECT_GT(step["grad_norm"].get<double>(), 0.0);
    EXPECT_TRUE(step.contains("cell_grad_norm"));
    EXPECT_TRUE(step.contains("keep_gate"));
  }
  const double ratio = j["ratio_first_last"];
  EXPECT_NEAR(ratio,
              j["time_steps"][0]["grad_norm"].get<double>() /
                  j["time_steps"][11]["grad_norm"].get<double>(),
              1e-9 * ratio);
}

TEST(RecurrentCommands, ProbeTableNamesTheHorizon) {
  const testing::ShellResult r =
      gradscope("probe --model rnn --task adding --seq 150 --hidden 16 --batch 8 --rho 0.5");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("falls below 1e-6 of the last step's"), std::string::npos) << r.out;
}

TEST(RecurrentCommands, TrainWritesPerStepArraysToTheRunLog) {
  testing::TempDir dir;
  const std::string log = dir / "run.jsonl";
  const testing::ShellResult r = gradscope(
      "train --model gru --task adding --seq 15 --hidden 8 --layers 2 --batch 16 --steps 20 "
      "--probe-every 10 --clip 1 --log " +
      log);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int probed = 0;
  for (const std::string& line : testing::read_lines(log)) {
    const nlohmann::json record = nlohmann::json::parse(line);
    if (record["type"] == "header") {
      EXPECT_EQ(record["model"]["cell"], "gru");
      EXPECT_EQ(record["task"]["seq"], 15);
    }
    if (record["type"] != "step" || !record.contains("time_steps")) continue;
    ++probed;
    ASSERT_EQ(record["time_steps"].size(), 2u);  // one entry per recurrent layer
    for (const nlohmann::json& layer : record["time_steps"]) {
      EXPECT_EQ(layer["grad_norm"].size(), 15u);
      EXPECT_EQ(layer["keep_gate"].size(), 15u);
    }
    EXPECT_EQ(record["layers"].size(), 3u);  // two recurrent layers and the head
  }
  EXPECT_EQ(probed, 3);  // steps 1, 10, 20
}

TEST(RecurrentCommands, TruncatedBpttCutsTheGradientAtTheWindowEdge) {
  // Loss at the last step only: with K = 5 the gradient reaches the last 5 steps, and nothing
  // flows into earlier windows.
  const testing::ShellResult r =
      gradscope("probe --model rnn --task adding --seq 20 --tbptt 5 --hidden 8 --batch 4 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  for (int t = 0; t < 15; ++t) EXPECT_EQ(j["time_steps"][t]["grad_norm"].get<double>(), 0.0);
  for (int t = 15; t < 20; ++t) EXPECT_GT(j["time_steps"][t]["grad_norm"].get<double>(), 0.0);
}

TEST(MitigationCommands, ProbeSplitsResidualGradientsIntoSkipAndBranch) {
  const testing::ShellResult r =
      gradscope("probe --residual --alpha 0.2 --depth 6 --width 16 --batch 8 --norm layer --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["layers"].size(), 6u);
  for (int l = 0; l < 5; ++l) {
    EXPECT_EQ(j["layers"][l]["kind"], "residual");
    EXPECT_TRUE(j["layers"][l]["skip_grad_norm"].is_number());
    EXPECT_TRUE(j["layers"][l]["branch_grad_norm"].is_number());
  }
  EXPECT_EQ(j["layers"][5]["kind"], "dense");
}

TEST(MitigationCommands, BatchNormTrainsAndSavesItsRunningStatistics) {
  testing::TempDir dir;
  const std::string weights = dir / "w.safetensors";
  const testing::ShellResult r = gradscope(
      "train --norm batch --depth 3 --width 8 --inputs 4 --outputs 2 --batch 16 --steps 5 "
      "--log " +
      (dir / "run.jsonl") + " --save-weights " + weights);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Safetensors file = read_safetensors(weights);
  EXPECT_TRUE(file.has("1.running_mean"));  // Dense, BatchNorm, act: PyTorch's positions
  EXPECT_TRUE(file.has("1.running_var"));
  EXPECT_EQ(file.integer_scalar("1.num_batches_tracked"), 5);
  EXPECT_EQ(file.shape("1.weight"), (std::vector<std::int64_t>{8}));
  EXPECT_EQ(file.shape("0.weight"), (std::vector<std::int64_t>{8, 4}));
}

// Save, load back, and get the same gradients from `gradscope grad` either way.
TEST(CheckpointCommands, SavedWeightsLoadBackIntoTrainingAndGrad) {
  testing::TempDir dir;
  const std::string weights = dir / "w.safetensors";
  ASSERT_EQ(gradscope("train --model lstm --task adding --seq 6 --hidden 5 --batch 8 --steps 3 "
                      "--log " +
                      (dir / "a.jsonl") + " --save-weights " + weights)
                .exit_code,
            0);
  const Safetensors saved = read_safetensors(weights);
  EXPECT_EQ(saved.shape("rnn.weight_ih_l0"), (std::vector<std::int64_t>{20, 2}));
  EXPECT_EQ(saved.shape("rnn.bias_hh_l0"), (std::vector<std::int64_t>{20}));
  EXPECT_EQ(saved.shape("head.weight"), (std::vector<std::int64_t>{1, 5}));

  // Training resumes from the checkpoint: its first loss equals that of the saved model.
  const testing::ShellResult resumed = gradscope(
      "train --model lstm --task adding --seq 6 --hidden 5 --batch 8 --steps 1 "
      "--log " +
      (dir / "b.jsonl") + " --load-weights " + weights + " --json");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;

  // A checkpoint of another model is refused, naming the tensor.
  const testing::ShellResult wrong =
      gradscope("train --model gru --task adding --seq 6 --hidden 5 --batch 8 --steps 1 --log " +
                (dir / "c.jsonl") + " --load-weights " + weights);
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.err.find("rnn.weight_ih_l0"), std::string::npos) << wrong.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "c.jsonl"));
}

TEST(CheckpointCommands, GradRefusesBadFilesWithoutWritingOutput) {
  testing::TempDir dir;
  const std::string out = dir / "g.safetensors";
  // Not a safetensors file at all.
  const std::string junk = dir / "junk.safetensors";
  std::FILE* f = std::fopen(junk.c_str(), "wb");
  std::fputs("this is not a checkpoint", f);
  std::fclose(f);
  for (const std::string& args :
       {"grad --model lstm --weights " + junk + " --data " + junk + " --out " + out,
        "grad --model mlp --weights " + (dir / "missing.safetensors") + " --data " + junk +
            " --out " + out}) {
    const testing::ShellResult r = gradscope(args);
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out));
  }
}

}  // namespace
}  // namespace gradscope
