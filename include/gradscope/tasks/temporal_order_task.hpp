// Temporal order (Hochreiter & Schmidhuber 1997, experiment 6a), in the form used by Pascanu,
// Mikolov & Bengio 2013 ("On the difficulty of training recurrent neural networks"): classify
// the order of two relevant symbols hidden among distractors.
//
// Six symbols, one-hot inputs of size 6: distractors a, b, c, d (0..3), relevant A, B (4, 5).
// Every step holds a uniformly random distractor, except two steps that hold A or B (each with
// probability 1/2): t1 uniform in [0.1 T, 0.2 T) and t2 uniform in [0.5 T, 0.6 T); as integer
// steps [ceil(T/10), ceil(2T/10)) and [ceil(5T/10), ceil(6T/10)), both non-empty for T >= 6.
// Target after the last step, 4 classes (output_size 4): AA 0, AB 1, BA 2, BB 3, i.e.
// 2 * first + second with A = 0, B = 1. Loss: cross-entropy. Chance (the classes are equally
// likely, and a memoryless model cannot see t1): ln 4.
//
// Layout: SequenceBatch (sequence_task.hpp), targets.labels (B).
// Randomness: per sequence, in order: T distractors (those at t1 and t2 are then replaced), t1,
// the first symbol, t2, the second symbol.
#pragma once

#include "gradscope/core/random.hpp"
#include "gradscope/tasks/sequence_task.hpp"

namespace gradscope {

template <typename Scalar>
class TemporalOrderTask final : public SequenceTask<Scalar> {
 public:
  // Bad-input Error when `length` < 6 or `test_size` < 1.
  TemporalOrderTask(Index length, std::uint64_t seed, Index test_size = 1000);

  std::string_view name() const override { return "temporal-order"; }
  Index input_size() const override { return 6; }
  Index output_size() const override { return 4; }
  Index sequence_length() const override { return length_; }
  LossKind loss() const override { return LossKind::kCrossEntropy; }
  TargetTiming target_timing() const override { return TargetTiming::kLastStep; }
  double baseline_loss() const override;
  void next_batch(Index size, SequenceBatch<Scalar>& batch) override;
  const SequenceBatch<Scalar>& test_set() const override { return test_; }

  // The steps where the first and second relevant symbols may sit: [begin, end).
  struct Window {
    Index begin = 0;
    Index end = 0;
  };
  Window first_window() const { return first_; }
  Window second_window() const { return second_; }

 private:
  void sample(Index size, Rng& rng, SequenceBatch<Scalar>& batch) const;

  Index length_;
  Window first_;
  Window second_;
  Rng stream_;
  SequenceBatch<Scalar> test_;
};

}  // namespace gradscope
