// Fashion-MNIST read as a sequence, as Le, Jaitly & Hinton 2015 read MNIST ("pixel MNIST"): the
// model sees the image piece by piece and must keep what it saw early until the last step.
//
//   kRows    T = 28 steps of 28 inputs: step t is row t of the image.
//   kPixels  T = 784 steps of 1 input: step t is pixel t in row-major (scanline) order.
// Label (10 classes) after the last step; loss cross-entropy; baseline ln 10 (balanced classes).
//
// Wraps FashionMnistTask, whose data it loads once: pixels standardised as there, training images
// drawn in the order FashionMnistTask(seed) draws them (reshuffled epochs), the test set the
// 10,000 test images in file order.
// Layout: SequenceBatch (sequence_task.hpp): column t * B + b holds
// image_b[t * inputs, (t + 1) * inputs) of the flat 784-pixel column; targets.labels (B).
#pragma once

#include <string>

#include "gradscope/tasks/fashion_mnist.hpp"
#include "gradscope/tasks/sequence_task.hpp"

namespace gradscope {

enum class FashionMnistSequence { kRows, kPixels };

template <typename Scalar>
class FashionMnistSequenceTask final : public SequenceTask<Scalar> {
 public:
  // Loads the data (bad-input Error if it is missing, as FashionMnistTask).
  FashionMnistSequenceTask(FashionMnistSequence order, std::uint64_t seed,
                           const std::string& directory = kFashionMnistDefaultDir);
  // Takes over an already loaded task, whose training stream it continues.
  FashionMnistSequenceTask(FashionMnistSequence order, FashionMnistTask<Scalar> flat);

  std::string_view name() const override;
  Index input_size() const override { return 784 / steps_; }
  Index output_size() const override { return 10; }
  Index sequence_length() const override { return steps_; }
  LossKind loss() const override { return LossKind::kCrossEntropy; }
  TargetTiming target_timing() const override { return TargetTiming::kLastStep; }
  double baseline_loss() const override;
  void next_batch(Index size, SequenceBatch<Scalar>& batch) override;
  const SequenceBatch<Scalar>& test_set() const override { return test_; }

  FashionMnistSequence order() const { return order_; }
  const FashionMnistTask<Scalar>& flat_task() const { return flat_; }

 private:
  // Rearranges flat (784, B) images into the sequence layout.
  void to_sequence(const Batch<Scalar>& flat, SequenceBatch<Scalar>& sequence) const;

  FashionMnistSequence order_;
  Index steps_;
  FashionMnistTask<Scalar> flat_;
  Batch<Scalar> flat_batch_;  // reused by next_batch
  SequenceBatch<Scalar> test_;
};

}  // namespace gradscope
