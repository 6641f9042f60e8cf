#include "gradscope/tasks/temporal_order_task.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cmath>

#include "tasks/sequence_batch_checks.hpp"

namespace gradscope {
namespace {

TEST(TemporalOrderTask, DescribesItself) {
  const TemporalOrderTask<float> task(100, 1, 10);
  EXPECT_EQ(task.name(), "temporal-order");
  EXPECT_EQ(task.input_size(), 6);
  EXPECT_EQ(task.output_size(), 4);
  EXPECT_EQ(task.sequence_length(), 100);
  EXPECT_EQ(task.loss(), LossKind::kCrossEntropy);
  EXPECT_EQ(task.target_timing(), TargetTiming::kLastStep);
  EXPECT_NEAR(task.baseline_loss(), 1.3862943611198906, 1e-15);  // ln 4
}

TEST(TemporalOrderTask, WindowsAreTheStepsInTenthsOfT) {
  // {T, first begin, first end, second begin, second end}, by hand from [0.1T, 0.2T), [0.5T, 0.6T).
  const Index cases[][5] = {{100, 10, 20, 50, 60},
                            {10, 1, 2, 5, 6},
                            {6, 1, 2, 3, 4},
                            {7, 1, 2, 4, 5},
                            {25, 3, 5, 13, 15}};
  for (const auto& c : cases) {
    const TemporalOrderTask<float> task(c[0], 1, 1);
    EXPECT_EQ(task.first_window().begin, c[1]) << "T = " << c[0];
    EXPECT_EQ(task.first_window().end, c[2]) << "T = " << c[0];
    EXPECT_EQ(task.second_window().begin, c[3]) << "T = " << c[0];
    EXPECT_EQ(task.second_window().end, c[4]) << "T = " << c[0];
  }
}

// T = 6 (windows [1, 2) and [3, 4)), B = 2, rebuilt by hand from the documented draws: per
// sequence 6 distractors, t1, the first symbol, t2, the second symbol.
TEST(TemporalOrderTask, HandCheckedTinyBatch) {
  TemporalOrderTask<double> task(6, 23, 1);
  SequenceBatch<double> batch;
  task.next_batch(2, batch);

  Rng stream = Rng(23).split();
  Matrix<double> x = Matrix<double>::Zero(6, 12);
  std::vector<int> labels(2);
  for (Index b = 0; b < 2; ++b) {
    Index symbol[6];
    for (Index& s : symbol) s = static_cast<Index>(stream.below(4));
    const Index t1 = 1 + static_cast<Index>(stream.below(1));
    const Index first = static_cast<Index>(stream.below(2));
    const Index t2 = 3 + static_cast<Index>(stream.below(1));
    const Index second = static_cast<Index>(stream.below(2));
    symbol[t1] = 4 + first;  // A = 4, B = 5
    symbol[t2] = 4 + second;
    for (Index t = 0; t < 6; ++t) x(symbol[t], 2 * t + b) = 1.0;
    labels[static_cast<std::size_t>(b)] = static_cast<int>(2 * first + second);
  }
  EXPECT_EQ(batch.steps, 6);
  EXPECT_EQ(batch.x, x);
  EXPECT_EQ(batch.targets.labels, labels);
}

TEST(TemporalOrderTask, TwoRelevantSymbolsInTheirWindowsAndBalancedClasses) {
  const Index steps = 30;
  const TemporalOrderTask<float> task(steps, 6, 20000);
  const SequenceBatch<float>& test = task.test_set();
  const Index size = test.size();
  std::array<int, 4> classes{};
  std::array<int, 4> distractors{};
  for (Index b = 0; b < size; ++b) {
    Index found[2] = {-1, -1};
    Index which[2] = {-1, -1};
    int relevant = 0;
    for (Index t = 0; t < steps; ++t) {
      const Index column = t * size + b;
      ASSERT_EQ(test.x.col(column).sum(), 1.0F);
      Index hot = 0;
      test.x.col(column).maxCoeff(&hot);
      if (hot >= 4) {
        ASSERT_LT(relevant, 2) << "a third relevant symbol, sequence " << b;
        found[relevant] = t;
        which[relevant] = hot - 4;
        ++relevant;
      } else {
        ++distractors[static_cast<std::size_t>(hot)];
      }
    }
    ASSERT_EQ(relevant, 2) << "sequence " << b;
    ASSERT_TRUE(found[0] >= 3 && found[0] < 6) << found[0];    // [0.1T, 0.2T) = [3, 6)
    ASSERT_TRUE(found[1] >= 15 && found[1] < 18) << found[1];  // [0.5T, 0.6T) = [15, 18)
    const int label = test.targets.labels[static_cast<std::size_t>(b)];
    ASSERT_EQ(label, 2 * which[0] + which[1]);
    ++classes[static_cast<std::size_t>(label)];
  }
  // Balanced: the best constant predictor (the class frequencies) scores their entropy = ln 4.
  double entropy = 0.0;
  for (const int count : classes) {
    const double p = count / static_cast<double>(size);
    EXPECT_NEAR(p, 0.25, 0.02);
    entropy -= p * std::log(p);
  }
  EXPECT_NEAR(entropy, task.baseline_loss(), 0.01);
  const double total = 20000.0 * 28.0;
  for (const int count : distractors) EXPECT_NEAR(count / total, 0.25, 0.01);
}

TEST(TemporalOrderTask, ReproduciblePerSeed) {
  testing::expect_reproducible<double>(
      [](std::uint64_t seed) { return TemporalOrderTask<double>(12, seed, 20); });
}

TEST(TemporalOrderTask, BadArgumentsAreBadInput) {
  for (const Index steps : {Index{5}, Index{1}, Index{0}}) {
    testing::expect_bad_input(
        [&] { TemporalOrderTask<float> task(steps, 1); },
        fmt::format("temporal-order: sequence length {} is not in [6, ", steps));
  }
  testing::expect_bad_input([] { TemporalOrderTask<float> task(10, 1, 0); },
                            "temporal-order: test size 0 is not positive");
}

}  // namespace
}  // namespace gradscope
