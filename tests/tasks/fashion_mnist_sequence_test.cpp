#include "gradscope/tasks/fashion_mnist_sequence.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "tasks/sequence_batch_checks.hpp"

namespace gradscope {
namespace {

bool have_data() {
  return std::filesystem::exists(std::filesystem::path(kFashionMnistDefaultDir) /
                                 "train-images-idx3-ubyte.gz");
}

#define SKIP_WITHOUT_DATA()                                                        \
  if (!have_data()) {                                                              \
    GTEST_SKIP() << kFashionMnistDefaultDir                                        \
                 << " is missing; install Debian's dataset-fashion-mnist package " \
                    "(scripts/install-deps.sh)";                                   \
  }

// Step t of sequence b is pixels [t * inputs, (t + 1) * inputs) of flat image b.
void expect_sequence_of(const Batch<float>& flat, const SequenceBatch<float>& sequence,
                        Index inputs) {
  const Index steps = 784 / inputs;
  const Index size = flat.x.cols();
  ASSERT_EQ(sequence.steps, steps);
  ASSERT_EQ(sequence.size(), size);
  ASSERT_EQ(sequence.x.rows(), inputs);
  ASSERT_EQ(sequence.x.cols(), steps * size);
  EXPECT_EQ(sequence.targets.labels, flat.targets.labels);
  for (Index b = 0; b < size; ++b) {
    for (Index t = 0; t < steps; ++t) {
      for (Index i = 0; i < inputs; ++i) {
        ASSERT_EQ(sequence.x(i, t * size + b), flat.x(t * inputs + i, b))
            << "sequence " << b << " step " << t << " input " << i;
      }
    }
  }
}

// Rows and pixels from one loaded task each, checked against an independent flat task with the
// same seed: the layout, the labels, and the training order (same seed, same images).
TEST(FashionMnistSequence, RowsAndPixelsRearrangeTheFlatImages) {
  SKIP_WITHOUT_DATA();
  FashionMnistTask<float> reference(7);
  Batch<float> flat;
  SequenceBatch<float> batch;
  for (const auto order : {FashionMnistSequence::kRows, FashionMnistSequence::kPixels}) {
    const bool rows = order == FashionMnistSequence::kRows;
    SCOPED_TRACE(rows ? "rows" : "pixels");
    FashionMnistSequenceTask<float> task(order, FashionMnistTask<float>(7));
    EXPECT_EQ(task.name(), rows ? "fashion-mnist-rows" : "fashion-mnist-pixels");
    EXPECT_EQ(task.sequence_length(), rows ? 28 : 784);
    EXPECT_EQ(task.input_size(), rows ? 28 : 1);
    EXPECT_EQ(task.output_size(), 10);
    EXPECT_EQ(task.loss(), LossKind::kCrossEntropy);
    EXPECT_EQ(task.target_timing(), TargetTiming::kLastStep);
    EXPECT_NEAR(task.baseline_loss(), 2.302585092994046, 1e-15);  // ln 10
    expect_sequence_of(task.flat_task().test_set(), task.test_set(), task.input_size());
    EXPECT_EQ(task.test_set().size(), 10000);

    // The reference consumes the same stream once per order: restart it for the second order.
    if (!rows) reference = FashionMnistTask<float>(7);
    for (int step = 0; step < 2; ++step) {
      reference.next_batch(5, flat);
      task.next_batch(5, batch);
      expect_sequence_of(flat, batch, task.input_size());
    }
    const float* storage = batch.x.data();
    task.next_batch(5, batch);
    EXPECT_EQ(batch.x.data(), storage);
  }
}

TEST(FashionMnistSequence, RowStepIsAnImageRow) {
  SKIP_WITHOUT_DATA();
  const FashionMnistSequenceTask<float> task(FashionMnistSequence::kRows, 1);
  const SequenceBatch<float>& test = task.test_set();
  // Image 3, row 14, column 9 is flat pixel 14 * 28 + 9; in the sequence, step 14 of sequence 3.
  EXPECT_EQ(test.x(9, 14 * 10000 + 3), task.flat_task().test_set().x(14 * 28 + 9, 3));
  EXPECT_EQ(test.targets.labels[3], task.flat_task().test_set().targets.labels[3]);
}

TEST(FashionMnistSequence, MissingDataIsBadInput) {
  testing::expect_bad_input(
      [] {
        FashionMnistSequenceTask<float> task(FashionMnistSequence::kPixels, 1,
                                             "/nonexistent/gradscope-fashion");
      },
      "dataset-fashion-mnist");
}

}  // namespace
}  // namespace gradscope
