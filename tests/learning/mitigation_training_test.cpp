// The article's depth mitigations during training, on the teacher task: a 50-layer plain sigmoid
// MLP trained with SGD stays where it started ("the network keeps training, but the early layers
// stay near their initialization"), while the same depth with residual blocks or normalisation
// trains; with normalisation the per-layer gradient norms stay within 2 decades of each other,
// as the run log shows. Every run: width 64, batch 64, SGD lr 0.1, 1,000 steps, seed 0, driven
// through the CLI like a user would.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "support/shell.hpp"

namespace gradscope {
namespace {

struct Trained {
  double first_loss = 0.0;
  double test_loss = 0.0;
  double first_layer_rel_dist = 0.0;  // at the last probed step
  double max_spread = 0.0;            // largest max - min of log10 grad norm over the layers
};

Trained train(const std::string& extra) {
  testing::TempDir dir;
  const std::string log = dir / "run.jsonl";
  const testing::ShellResult r = testing::run_shell(
      std::string(GRADSCOPE_CLI_PATH) +
      " train --task teacher --inputs 32 --outputs 4 --depth 50 --width 64 --act sigmoid "
      "--optimizer sgd --lr 0.1 --steps 1000 --batch 64 --probe-every 100 --eval-every 0 --log " +
      log + " " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Trained t;
  bool first = true;
  for (const std::string& line : testing::read_lines(log)) {
    const nlohmann::json record = nlohmann::json::parse(line);
    if (record["type"] == "step") {
      if (first) t.first_loss = record["loss"];
      first = false;
      if (!record.contains("layers")) continue;
      double low = 1e300, high = -1e300;
      for (const nlohmann::json& layer : record["layers"]) {
        const double g = std::log10(layer["grad_norm"].get<double>());
        low = std::min(low, g);
        high = std::max(high, g);
      }
      t.max_spread = std::max(t.max_spread, high - low);
      t.first_layer_rel_dist = record["layers"][0]["rel_dist_init"];
    }
    if (record["type"] == "end") t.test_loss = record["test"]["loss"];
  }
  std::printf("%-40s loss %.4f -> test %.4f; layer 1 moved %.2e; spread %.2f decades\n",
              extra.empty() ? "plain" : extra.c_str(), t.first_loss, t.test_loss,
              t.first_layer_rel_dist, t.max_spread);
  return t;
}

TEST(MitigationTraining, PlainSigmoidStaysNearInitWhileResidualAndNormalisedTrain) {
  const Trained plain = train("");
  EXPECT_LT(plain.first_layer_rel_dist, 1e-3);
  EXPECT_GT(plain.test_loss, 0.9 * plain.first_loss) << "the plain net's loss stays flat";

  const Trained batch_norm = train("--norm batch");
  const Trained layer_norm = train("--norm layer --norm-position pre");
  const Trained residual = train("--residual --alpha 0.1 --clip 1");
  const Trained rezero = train("--residual --alpha rezero --clip 1");
  for (const Trained* t : {&batch_norm, &residual, &rezero}) {
    EXPECT_LT(t->test_loss, 0.5 * plain.test_loss);
  }
  // The normalised nets' first layers move (ReZero learns mostly through its alphas, so its
  // first weights may move less).
  EXPECT_GT(batch_norm.first_layer_rel_dist, 1e-2);
  EXPECT_GT(layer_norm.first_layer_rel_dist, 1e-2);
  // Batch norm keeps every layer's gradient within 2 decades at every probed step; the plain net
  // spans tens of decades.
  EXPECT_LE(batch_norm.max_spread, 2.0);
  EXPECT_GT(plain.max_spread, 10.0);
  // Pre-activation layer norm lets the gradient reach the first layer (above), its spread stays a
  // fraction of the plain net's, but in 1,000 steps it fits the teacher for some seeds only:
  // seeds 0-3 gave test losses 0.95, 0.97, 0.32, 0.92 and spreads 4.9, 5.6, 0.7, 5.3 decades
  // (2026-12-06). Seed 0 met the batch-norm thresholds before the products went to OpenBLAS, a
  // change of rounding only: luck, not a property. So no loss is asserted for it.
  EXPECT_LE(layer_norm.max_spread, 8.0);
  EXPECT_GT(plain.max_spread, 10.0);
}

}  // namespace
}  // namespace gradscope
