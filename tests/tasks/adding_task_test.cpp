#include "gradscope/tasks/adding_task.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "tasks/sequence_batch_checks.hpp"

namespace gradscope {
namespace {

TEST(AddingTask, DescribesItself) {
  const AddingTask<float> task(50, 1, 10);
  EXPECT_EQ(task.name(), "adding");
  EXPECT_EQ(task.input_size(), 2);
  EXPECT_EQ(task.output_size(), 1);
  EXPECT_EQ(task.sequence_length(), 50);
  EXPECT_EQ(task.loss(), LossKind::kMse);
  EXPECT_FALSE(task.is_classification());
  EXPECT_EQ(task.target_timing(), TargetTiming::kLastStep);
  EXPECT_DOUBLE_EQ(task.baseline_loss(), 1.0 / 6.0);
  EXPECT_EQ(task.test_set().size(), 10);
}

// The documented draws and layout, rebuilt by hand for T = 4, B = 2: the training stream is
// Rng(seed).split(); per sequence 4 values, then the first marker in [0, 2), the second in [2, 4).
TEST(AddingTask, HandCheckedTinyBatch) {
  AddingTask<double> task(4, 9, 3);
  SequenceBatch<double> batch;
  task.next_batch(2, batch);

  Rng stream = Rng(9).split();
  Matrix<double> x = Matrix<double>::Zero(2, 8);
  Matrix<double> y(1, 2);
  for (Index b = 0; b < 2; ++b) {
    double values[4];
    for (double& value : values) value = stream.uniform();
    const auto first = static_cast<Index>(stream.below(2));
    const auto second = 2 + static_cast<Index>(stream.below(2));
    for (Index t = 0; t < 4; ++t) {
      x(0, 2 * t + b) = values[t];  // column t * B + b
      x(1, 2 * t + b) = (t == first || t == second) ? 1.0 : 0.0;
    }
    y(0, b) = values[first] + values[second];
  }
  EXPECT_EQ(batch.steps, 4);
  EXPECT_EQ(batch.size(), 2);
  EXPECT_EQ(batch.x, x);
  EXPECT_EQ(batch.targets.values, y);
  EXPECT_TRUE(batch.targets.labels.empty());
  // step(t) is the (input, B) block of step t.
  EXPECT_EQ(Matrix<double>(batch.step(3)), x.middleCols(6, 2));
}

TEST(AddingTask, ExactlyOneMarkerPerHalfAndTargetIsTheirSum) {
  for (const Index steps : {Index{2}, Index{7}, Index{12}}) {
    SCOPED_TRACE(steps);
    const AddingTask<float> task(steps, 3, 2000);
    const SequenceBatch<float>& test = task.test_set();
    const Index size = test.size();
    const Index half = steps / 2;
    std::vector<Index> first_hits(static_cast<std::size_t>(steps), 0);
    for (Index b = 0; b < size; ++b) {
      Index first = -1;
      Index second = -1;
      for (Index t = 0; t < steps; ++t) {
        const float marker = test.x(1, t * size + b);
        const float value = test.x(0, t * size + b);
        ASSERT_TRUE(marker == 0.0F || marker == 1.0F) << marker;
        ASSERT_TRUE(value >= 0.0F && value <= 1.0F) << value;
        if (marker == 1.0F) {
          Index& slot = t < half ? first : second;
          ASSERT_EQ(slot, -1) << "two markers in one half, sequence " << b;
          slot = t;
        }
      }
      ASSERT_GE(first, 0) << "no marker in the first half, sequence " << b;
      ASSERT_GE(second, 0) << "no marker in the second half, sequence " << b;
      ++first_hits[static_cast<std::size_t>(first)];
      const double sum = static_cast<double>(test.x(0, first * size + b)) +
                         static_cast<double>(test.x(0, second * size + b));
      EXPECT_EQ(test.targets.values(0, b), static_cast<float>(sum));
    }
    // The first marker is uniform over the first half: each step gets about 2000 / half.
    for (Index t = 0; t < half; ++t) {
      EXPECT_NEAR(static_cast<double>(first_hits[static_cast<std::size_t>(t)]),
                  2000.0 / static_cast<double>(half), 0.2 * 2000.0 / static_cast<double>(half))
          << "step " << t;
    }
  }
}

TEST(AddingTask, PredictingOneScoresOneSixth) {
  const AddingTask<double> task(10, 5, 40000);
  const Matrix<double>& y = task.test_set().targets.values;
  const double mean = y.mean();
  const double mse_of_one = (y.array() - 1.0).square().mean();
  EXPECT_NEAR(mean, 1.0, 0.01);
  EXPECT_NEAR(mse_of_one, 1.0 / 6.0, 0.01);
  EXPECT_NEAR(mse_of_one, task.baseline_loss(), 0.01);
}

TEST(AddingTask, ReproduciblePerSeed) {
  testing::expect_reproducible<float>(
      [](std::uint64_t seed) { return AddingTask<float>(6, seed, 20); });
}

TEST(AddingTask, BadArgumentsAreBadInput) {
  for (const Index steps : {Index{1}, Index{0}, Index{-4}}) {
    testing::expect_bad_input([&] { AddingTask<float> task(steps, 1); },
                              fmt::format("adding: sequence length {} is not in [2, ", steps));
  }
  testing::expect_bad_input([] { AddingTask<float> task(5, 1, 0); },
                            "adding: test size 0 is not positive");
  testing::expect_bad_input([] { AddingTask<float> task(Index{1} << 40, 1); },
                            "adding: sequence length 1099511627776");
}

}  // namespace
}  // namespace gradscope
