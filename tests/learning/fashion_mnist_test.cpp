// Learning runs: slower than the rest of the suite, so they carry the ctest label "slow"
// (ctest -L slow / -LE slow); CI runs them.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/shell.hpp"

namespace gradscope {
namespace {

// The README's Fashion-MNIST command: a 2-hidden-layer ReLU MLP in gradscope's default budget
// (2000 Adam steps of batch 128) reaches at least 85% test accuracy.
TEST(FashionMnist, TwoHiddenLayerReluReaches85Percent) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "Debian's dataset-fashion-mnist is not installed";
  }
  testing::TempDir dir;
  const std::string log = dir / "run.jsonl";
  const testing::ShellResult r = testing::run_shell(
      std::string(GRADSCOPE_CLI_PATH) +
      " train --task fashion-mnist --depth 3 --width 256 --act relu --init he --json --log " + log);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json summary = nlohmann::json::parse(r.out);
  const double accuracy = summary["test"]["accuracy"];
  std::printf("Fashion-MNIST: test accuracy %.4f after %ld steps in %.1f s\n", accuracy,
              summary["steps"].get<long>(), summary["seconds"].get<double>());
  EXPECT_GE(accuracy, 0.85);
  for (const std::string& line : testing::read_lines(log)) {
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
  }
}

}  // namespace
}  // namespace gradscope
