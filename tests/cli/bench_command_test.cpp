// gradscope bench: the JSON line bench/compare reads, the workloads' sizes and FLOP counts, and
// bad requests. Nothing here depends on how long anything takes.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/shell.hpp"

namespace gradscope {
namespace {

testing::ShellResult gradscope(const std::string& args) {
  return testing::run_shell(std::string(GRADSCOPE_CLI_PATH) + " " + args);
}

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

nlohmann::json bench(const std::string& args) {
  const testing::ShellResult r = gradscope("bench " + args + " --json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::vector<nlohmann::json> lines = json_lines(r.out);
  EXPECT_EQ(lines.size(), 1u) << r.out;
  return lines.empty() ? nlohmann::json{} : lines.front();
}

void expect_timing_fields(const nlohmann::json& line) {
  EXPECT_EQ(line["side"], "gradscope");
  EXPECT_GT(line["median_ms"].get<double>(), 0.0);
  EXPECT_LE(line["min_ms"].get<double>(), line["median_ms"].get<double>());
  EXPECT_NEAR(line["gflops"].get<double>(),
              line["flops"].get<double>() / line["median_ms"].get<double>() * 1e-6,
              1e-9 * line["gflops"].get<double>());
  EXPECT_GT(line["max_rss_kb"].get<long>(), 0);
}

TEST(BenchCommand, MlpStepCountsThreeProductsPerLayer) {
  const nlohmann::json line = bench("mlp --depth 3 --reps 3 --warmup 0");
  expect_timing_fields(line);
  EXPECT_EQ(line["workload"], "mlp");
  EXPECT_EQ(line["threads"], 1);
  EXPECT_EQ(line["reps"], 3);
  EXPECT_EQ(line["depth"], 3);
  EXPECT_EQ(line["batch"], 128);
  // 256 -> 256 -> 256 -> 10, batch 128: forward, dL/dx and dL/dW.
  EXPECT_DOUBLE_EQ(line["flops"].get<double>(), 6.0 * 128 * (2 * 256 * 256 + 256 * 10));
  EXPECT_TRUE(std::isfinite(line["result"]["loss"].get<double>()));
  EXPECT_GT(line["result"]["first_layer_grad_norm"].get<double>(), 0.0);
}

// --width and --batch, for measuring how the cost grows: the sizes reach the model and the FLOP
// count follows them.
TEST(BenchCommand, WidthAndBatchResizeTheWorkloads) {
  const nlohmann::json mlp = bench("mlp --depth 3 --width 64 --batch 32 --reps 1 --warmup 0");
  EXPECT_EQ(mlp["width"], 64);
  EXPECT_EQ(mlp["batch"], 32);
  EXPECT_DOUBLE_EQ(mlp["flops"].get<double>(), 6.0 * 32 * (2 * 64 * 64 + 64 * 10));
  EXPECT_TRUE(std::isfinite(mlp["result"]["loss"].get<double>()));

  const nlohmann::json gru = bench("gru --steps 5 --width 32 --batch 8 --reps 1 --warmup 0");
  EXPECT_EQ(gru["hidden"], 32);
  EXPECT_EQ(gru["batch"], 8);
  EXPECT_DOUBLE_EQ(gru["flops"].get<double>(), 6.0 * 3 * 32 * 34 * 8 * 5);

  const nlohmann::json spectrum = bench("spectrum --depth 4 --width 48 --reps 1 --warmup 0");
  EXPECT_EQ(spectrum["width"], 48);
  EXPECT_EQ(spectrum["result"]["exponents"].size(), 48u);
  EXPECT_DOUBLE_EQ(spectrum["flops"].get<double>(), 2.0 * 48 * 48 * 48 * 4);
}

TEST(BenchCommand, ThreadsAreSetForTheWholeProcess) {
  EXPECT_EQ(bench("mlp --depth 2 --reps 1 --threads 2")["threads"], 2);
  EXPECT_EQ(bench("gemm --size 64 --reps 1")["threads"], 1);
}

TEST(BenchCommand, RecurrentStepRecordsEveryStepsGradientNorm) {
  for (const char* cell : {"rnn", "lstm", "gru"}) {
    const nlohmann::json plain = bench(std::string(cell) + " --steps 7 --reps 1");
    const nlohmann::json probed = bench(std::string(cell) + " --steps 7 --reps 1 --per-step-grad");
    expect_timing_fields(probed);
    EXPECT_EQ(plain["steps"], 7);
    EXPECT_EQ(plain["per_step_grad"], false);
    EXPECT_EQ(probed["per_step_grad"], true);
    EXPECT_FALSE(plain["result"].contains("dh_norm_last_step"));
    EXPECT_GT(probed["result"]["dh_norm_last_step"].get<double>(), 0.0) << cell;
    EXPECT_GT(probed["result"]["dh_norm_first_step"].get<double>(), 0.0) << cell;
    // Recording reads the gradients; the step itself is the same.
    EXPECT_EQ(plain["result"]["loss"], probed["result"]["loss"]) << cell;
    EXPECT_EQ(plain["result"]["grad_norm"], probed["result"]["grad_norm"]) << cell;
    const double gates = std::string(cell) == "lstm" ? 4 : std::string(cell) == "gru" ? 3 : 1;
    EXPECT_DOUBLE_EQ(plain["flops"].get<double>(), 6.0 * gates * 128 * 130 * 64 * 7) << cell;
  }
}

TEST(BenchCommand, SpectrumGivesEveryExponentFinite) {
  const nlohmann::json line = bench("spectrum --depth 12 --reps 1 --warmup 0");
  expect_timing_fields(line);
  EXPECT_EQ(line["dtype"], "float64");
  const nlohmann::json& exponents = line["result"]["exponents"];
  ASSERT_EQ(exponents.size(), 256u);
  EXPECT_EQ(line["result"]["finite"], 256);
  EXPECT_EQ(line["result"]["factors"], 12);
  for (std::size_t i = 1; i < exponents.size(); ++i) {
    EXPECT_GE(exponents[i - 1].get<double>(), exponents[i].get<double>());
  }
  // Ordered phase: every direction shrinks.
  EXPECT_LT(exponents[0].get<double>(), 0.0);
}

TEST(BenchCommand, GemmMeasuresTheSizeAskedFor) {
  const nlohmann::json line = bench("gemm --size 96 --reps 2");
  EXPECT_EQ(line["size"], 96);
  EXPECT_DOUBLE_EQ(line["flops"].get<double>(), 2.0 * 96 * 96 * 96);
}

TEST(BenchCommand, BadRequestsSayWhatIsWrongInOneLine) {
  for (const char* args :
       {"bench mlp --steps 5", "bench gemm --per-step-grad", "bench nope", "bench lstm --depth 3",
        "bench mlp --reps 0", "bench mlp --threads 0", "bench gemm --width 64",
        "bench spectrum --batch 4", "bench mlp --width 0", "bench lstm --batch -3",
        // sizes that cannot fit: refused before anything is allocated
        "bench mlp --depth 100000000", "bench gemm --size 10000000",
        "bench lstm --steps 1000000000", "bench spectrum --depth 1000000000",
        "bench mlp --width 10000000", "bench rnn --batch 100000000000",
        "bench spectrum --width 5000000000"}) {
    const testing::ShellResult r = gradscope(args);
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_TRUE(r.out.empty()) << args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": " << r.err;
  }
}

}  // namespace
}  // namespace gradscope
