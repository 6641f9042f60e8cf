// Copy memory (Hochreiter & Schmidhuber 1997), as set by Arjovsky, Shah & Bengio 2016 ("Unitary
// evolution recurrent neural networks", section 4.1): remember k symbols across a delay T.
//
// Alphabet of a symbols (default 8) plus two markers; one-hot inputs of size a + 2:
//   classes 0..a-1 the symbols, a the blank, a + 1 the delimiter.
// A sequence has T + 2k steps (k symbols, default 10; T the delay):
//   steps [0, k)           the k symbols, each uniform over the a categories
//   steps [k, k + T - 1)   blank (T - 1 of them)
//   step  k + T - 1        the delimiter: "now repeat them"
//   steps [k + T, T + 2k)  blank
// Targets at every step (output_size a + 1: the a symbols and the blank):
//   steps [0, T + k) blank, steps [T + k, T + 2k) the k symbols in their original order.
// Loss: cross-entropy at every step, averaged over all T + 2k steps as Arjovsky et al. do.
// With recall_only, the first T + k steps are kNoTarget and only the k recalled symbols count.
// Baseline, the memoryless strategy (blank until the delimiter has passed, then uniform over the
// a symbols): k ln(a) / (T + 2k) per step; ln(a) with recall_only.
//
// Layout: SequenceBatch (sequence_task.hpp) with kEveryStep targets: labels (T' * B), entry
// t * B + b for sequence b at step t, T' = T + 2k.
// Randomness: per sequence, the k symbols in order.
#pragma once

#include "gradscope/core/random.hpp"
#include "gradscope/tasks/sequence_task.hpp"

namespace gradscope {

struct CopyTaskOptions {
  Index symbols = 10;        // k, copied
  Index alphabet = 8;        // a, the categories they are drawn from
  bool recall_only = false;  // score only the last k steps
  Index test_size = 1000;
};

// k ln(a) / (T + 2k), the memoryless cross-entropy per step (see above).
double copy_memory_baseline(Index delay, Index symbols, Index alphabet);

template <typename Scalar>
class CopyTask final : public SequenceTask<Scalar> {
 public:
  // Bad-input Error unless delay >= 1, symbols >= 1, alphabet >= 2, test_size >= 1.
  CopyTask(Index delay, std::uint64_t seed, CopyTaskOptions options = {});

  std::string_view name() const override { return "copy-memory"; }
  Index input_size() const override { return options_.alphabet + 2; }
  Index output_size() const override { return options_.alphabet + 1; }
  Index sequence_length() const override { return delay_ + 2 * options_.symbols; }
  LossKind loss() const override { return LossKind::kCrossEntropy; }
  TargetTiming target_timing() const override { return TargetTiming::kEveryStep; }
  double baseline_loss() const override;
  void next_batch(Index size, SequenceBatch<Scalar>& batch) override;
  const SequenceBatch<Scalar>& test_set() const override { return test_; }

  Index delay() const { return delay_; }
  int blank() const { return static_cast<int>(options_.alphabet); }
  int delimiter() const { return static_cast<int>(options_.alphabet) + 1; }

 private:
  void sample(Index size, Rng& rng, SequenceBatch<Scalar>& batch) const;

  Index delay_;
  CopyTaskOptions options_;
  Rng stream_;
  SequenceBatch<Scalar> test_;
};

}  // namespace gradscope
