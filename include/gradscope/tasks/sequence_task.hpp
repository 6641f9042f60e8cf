// A sequence task is where a recurrent model's batches come from: a training stream, a fixed
// test set, the loss, and where along the sequence the targets sit.
//
// Layout of a SequenceBatch of B sequences of T steps (time-major, as gradscope's unroller reads
// them: step t is one contiguous (input, B) block, the input of one cell call):
//   x: (input, T * B); columns [t * B, (t + 1) * B) are step t, column t * B + b is sequence b
//      at step t.
//   targets, by target_timing():
//     kLastStep   the loss applies to the model's output after the last step only:
//                 MSE: targets.values (output, B); cross-entropy: targets.labels (B).
//     kEveryStep  cross-entropy on the output of every step: targets.labels (T * B), entry
//                 t * B + b is the class of sequence b at step t (the same order as the columns
//                 of x and of a (classes, T * B) output), or kNoTarget: no loss at that step.
//                 The loss is the mean over the entries that are not kNoTarget.
//
// Randomness, as in the flat tasks: Rng(seed) first gives the training stream by one split(),
// then draws the test set, so the same seed gives the same test set and the same batches, and
// the batch size never changes the test set.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "gradscope/tasks/task.hpp"

namespace gradscope {

enum class TargetTiming { kLastStep, kEveryStep };

// Longer sequences are refused as bad input (their sizes would overflow long before memory ends).
inline constexpr Index kMaxSequenceLength = Index{1} << 30;

// A label meaning "no loss at this step" (kEveryStep tasks).
inline constexpr int kNoTarget = -1;

template <typename Scalar>
struct SequenceBatch {
  Matrix<Scalar> x;  // (input, steps * size())
  Targets<Scalar> targets;
  Index steps = 0;  // T

  // B, the number of sequences.
  Index size() const { return steps > 0 ? x.cols() / steps : 0; }
  // The (input, B) inputs of step t.
  ConstMatrixRef<Scalar> step(Index t) const { return x.middleCols(t * size(), size()); }
};

template <typename Scalar>
class SequenceTask {
 public:
  virtual ~SequenceTask() = default;
  virtual std::string_view name() const = 0;
  virtual Index input_size() const = 0;
  virtual Index output_size() const = 0;  // regression outputs, or number of classes
  virtual Index sequence_length() const = 0;
  virtual LossKind loss() const = 0;
  virtual TargetTiming target_timing() const = 0;
  bool is_classification() const { return loss() == LossKind::kCrossEntropy; }
  // The loss of the best predictor that does not carry information across the long gap (for
  // example a constant): a model has learnt the dependency only once it is clearly below this.
  virtual double baseline_loss() const = 0;
  // Fills `batch` with the next `size` training sequences (resizing it; reuses its storage).
  virtual void next_batch(Index size, SequenceBatch<Scalar>& batch) = 0;
  // A fixed held-out set, the same for every call.
  virtual const SequenceBatch<Scalar>& test_set() const = 0;
};

// Bad-input Error, naming `what`, when `count` sequences of `steps` steps of `inputs` Scalars
// (`scalar_bytes` each) would not fit in the available memory: refused up front, not half-way.
void check_sequence_storage(const std::string& what, Index count, Index steps, Index inputs,
                            std::size_t scalar_bytes);

}  // namespace gradscope
