#include "gradscope/tasks/copy_task.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <vector>

#include "gradscope/nn/cross_entropy_loss.hpp"
#include "tasks/sequence_batch_checks.hpp"

namespace gradscope {
namespace {

TEST(CopyTask, ArjovskyDefaults) {
  const CopyTask<float> task(100, 1, {.test_size = 4});
  EXPECT_EQ(task.name(), "copy-memory");
  EXPECT_EQ(task.sequence_length(), 120);  // T + 20
  EXPECT_EQ(task.input_size(), 10);        // 8 symbols, blank, delimiter
  EXPECT_EQ(task.output_size(), 9);        // 8 symbols, blank
  EXPECT_EQ(task.blank(), 8);
  EXPECT_EQ(task.delimiter(), 9);
  EXPECT_EQ(task.loss(), LossKind::kCrossEntropy);
  EXPECT_EQ(task.target_timing(), TargetTiming::kEveryStep);
  // 10 ln 8 / 120, computed by hand.
  EXPECT_NEAR(task.baseline_loss(), 0.17328679513998632, 1e-15);
  EXPECT_NEAR(copy_memory_baseline(100, 10, 8), 0.17328679513998632, 1e-15);
  EXPECT_NEAR(copy_memory_baseline(1, 1, 2), std::log(2.0) / 3.0, 1e-15);
}

// T = 3, k = 2, a = 3 (symbols 0..2, blank 3, delimiter 4), B = 2, rebuilt by hand from the
// documented draws (the training stream is Rng(seed).split(); per sequence the k symbols).
TEST(CopyTask, HandCheckedTinyBatch) {
  CopyTask<double> task(3, 17, {.symbols = 2, .alphabet = 3, .test_size = 2});
  SequenceBatch<double> batch;
  task.next_batch(2, batch);

  Rng stream = Rng(17).split();
  std::array<std::array<int, 2>, 2> symbols{};
  for (auto& sequence : symbols)
    for (int& symbol : sequence) symbol = static_cast<int>(stream.below(3));
  // Steps: s0 s1 _ _ D _ _ (7 = T + 2k); targets: _ _ _ _ _ s0 s1.
  Matrix<double> x = Matrix<double>::Zero(5, 14);
  std::vector<int> labels(14, 3);
  for (Index b = 0; b < 2; ++b) {
    const auto& s = symbols[static_cast<std::size_t>(b)];
    const int inputs[7] = {s[0], s[1], 3, 3, 4, 3, 3};
    for (Index t = 0; t < 7; ++t) x(inputs[t], 2 * t + b) = 1.0;
    labels[static_cast<std::size_t>(2 * 5 + b)] = s[0];
    labels[static_cast<std::size_t>(2 * 6 + b)] = s[1];
  }
  EXPECT_EQ(batch.steps, 7);
  EXPECT_EQ(batch.size(), 2);
  EXPECT_EQ(batch.x, x);
  EXPECT_EQ(batch.targets.labels, labels);
  EXPECT_EQ(batch.targets.values.size(), 0);

  // recall_only: the same draws, no loss before the recall.
  CopyTask<double> recall(3, 17,
                          {.symbols = 2, .alphabet = 3, .recall_only = true, .test_size = 2});
  recall.next_batch(2, batch);
  for (std::size_t i = 0; i < 10; ++i) labels[i] = kNoTarget;
  EXPECT_EQ(batch.x, x);
  EXPECT_EQ(batch.targets.labels, labels);
  EXPECT_NEAR(recall.baseline_loss(), std::log(3.0), 1e-15);
}

TEST(CopyTask, StructureHoldsOnEverySequence) {
  const Index delay = 30;
  const CopyTask<float> task(delay, 4, {.test_size = 500});
  const SequenceBatch<float>& test = task.test_set();
  const Index size = test.size();
  const Index steps = task.sequence_length();
  ASSERT_EQ(size, 500);
  ASSERT_EQ(test.targets.labels.size(), static_cast<std::size_t>(steps * size));
  std::array<int, 8> counts{};
  for (Index b = 0; b < size; ++b) {
    for (Index t = 0; t < steps; ++t) {
      const Index column = t * size + b;
      ASSERT_EQ(test.x.col(column).sum(), 1.0F) << "not one-hot at step " << t;
      Index hot = 0;
      test.x.col(column).maxCoeff(&hot);
      const int label = test.targets.labels[static_cast<std::size_t>(column)];
      if (t < 10) {
        ASSERT_LT(hot, 8) << "step " << t;  // a symbol
        ASSERT_EQ(test.targets.labels[static_cast<std::size_t>((delay + 10 + t) * size + b)],
                  hot);  // recalled T + k steps later
        ++counts[static_cast<std::size_t>(hot)];
      } else {
        ASSERT_EQ(hot, t == delay + 9 ? 9 : 8) << "step " << t;  // delimiter or blank
      }
      if (t < delay + 10) {
        ASSERT_EQ(label, 8) << "step " << t;  // blank target
      }
    }
  }
  for (const int count : counts) EXPECT_NEAR(count, 5000 / 8, 100);  // uniform symbols
}

// The memoryless strategy (blank until the delimiter has passed, then uniform over the symbols)
// scored with the library's cross-entropy over every step matches k ln(a) / (T + 2k).
TEST(CopyTask, MemorylessStrategyScoresTheBaseline) {
  const Index delay = 20;
  const CopyTask<double> task(delay, 8, {.symbols = 5, .alphabet = 6, .test_size = 50});
  const SequenceBatch<double>& test = task.test_set();
  const Index size = test.size();
  Matrix<double> logits = Matrix<double>::Zero(task.output_size(), test.x.cols());
  for (Index t = 0; t < task.sequence_length(); ++t) {
    // Sure of the blank before the recall; uniform over the 6 symbols (never blank) after it.
    logits.row(task.blank()).segment(t * size, size).setConstant(t < delay + 5 ? 60.0 : -60.0);
  }
  Matrix<double> dlogits(logits.rows(), logits.cols());
  const double loss = CrossEntropyLoss<double>().evaluate(logits, test.targets, dlogits);
  EXPECT_NEAR(loss, 5.0 * std::log(6.0) / 30.0, 1e-9);
  EXPECT_NEAR(loss, task.baseline_loss(), 1e-9);
}

TEST(CopyTask, ReproduciblePerSeed) {
  testing::expect_reproducible<float>([](std::uint64_t seed) {
    return CopyTask<float>(5, seed, {.symbols = 3, .alphabet = 4, .test_size = 20});
  });
}

TEST(CopyTask, BadArgumentsAreBadInput) {
  testing::expect_bad_input([] { CopyTask<float> task(0, 1); },
                            "copy-memory: delay 0 is not in [1, ");
  testing::expect_bad_input([] { CopyTask<float> task(5, 1, {.symbols = 0}); },
                            "copy-memory: 0 symbols to copy");
  testing::expect_bad_input([] { CopyTask<float> task(5, 1, {.alphabet = 1}); },
                            "copy-memory: alphabet of 1 categories is not in [2, ");
  testing::expect_bad_input([] { CopyTask<float> task(5, 1, {.test_size = -1}); },
                            "copy-memory: test size -1 is not positive");
}

}  // namespace
}  // namespace gradscope
