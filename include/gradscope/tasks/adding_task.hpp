// The adding problem (Hochreiter & Schmidhuber 1997), in the U[0, 1] form of Arjovsky, Shah &
// Bengio 2016 ("Unitary evolution recurrent neural networks", section 4.2).
//
// Inputs: 2 channels per step (input_size 2), T steps:
//   channel 0  a value u_t ~ U[0, 1)
//   channel 1  a marker m_t: exactly two steps hold 1, one uniformly at random in the first half
//              [0, floor(T/2)) and one in the second half [floor(T/2), T); every other step 0
// Target after the last step (output_size 1): y = sum_t m_t u_t, the sum of the two marked values.
//
// AddingLayout::kFirstHalf moves both markers into the first half, as in Hochreiter &
// Schmidhuber's own version (a minimal lag of T/2): one in [0, floor(T/4)), one in
// [floor(T/4), floor(T/2)). No marker then ever falls among the last T/2 steps, so a model
// trained by truncated BPTT with a window K <= T/2 never sees a marker inside the window that
// holds the loss: the rule "add the marked values" cannot be learnt from the gradient, only
// through full BPTT (used by the tbptt test and experiment).
// Loss: MSE. Baseline: the constant prediction 1 = E[y] scores Var(u_1 + u_2) = 2/12 = 1/6; a
// model can only do better by carrying the first marked value across at least T/2 steps.
//
// Layout: SequenceBatch (sequence_task.hpp), targets.values (1, B). Targets are computed in double
// from the values as rounded to Scalar, so they are exact for the inputs the model sees.
// Randomness: per sequence, in order: the T values, the first marker's step, the second's.
#pragma once

#include "gradscope/core/random.hpp"
#include "gradscope/tasks/sequence_task.hpp"

namespace gradscope {

enum class AddingLayout { kHalves, kFirstHalf };

template <typename Scalar>
class AddingTask final : public SequenceTask<Scalar> {
 public:
  // Bad-input Error when `length` < 2 (< 4 for kFirstHalf) or `test_size` < 1.
  AddingTask(Index length, std::uint64_t seed, Index test_size = 1000,
             AddingLayout layout = AddingLayout::kHalves);

  std::string_view name() const override {
    return layout_ == AddingLayout::kHalves ? "adding" : "adding-first-half";
  }
  Index input_size() const override { return 2; }
  Index output_size() const override { return 1; }
  Index sequence_length() const override { return length_; }
  LossKind loss() const override { return LossKind::kMse; }
  TargetTiming target_timing() const override { return TargetTiming::kLastStep; }
  double baseline_loss() const override { return 1.0 / 6.0; }
  void next_batch(Index size, SequenceBatch<Scalar>& batch) override;
  const SequenceBatch<Scalar>& test_set() const override { return test_; }

 private:
  void sample(Index size, Rng& rng, SequenceBatch<Scalar>& batch) const;

  Index length_;
  AddingLayout layout_;
  Rng stream_;
  SequenceBatch<Scalar> test_;
};

}  // namespace gradscope
