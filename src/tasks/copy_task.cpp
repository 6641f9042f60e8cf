#include "gradscope/tasks/copy_task.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "gradscope/core/error.hpp"

namespace gradscope {

double copy_memory_baseline(Index delay, Index symbols, Index alphabet) {
  return static_cast<double>(symbols) * std::log(static_cast<double>(alphabet)) /
         static_cast<double>(delay + 2 * symbols);
}

template <typename Scalar>
CopyTask<Scalar>::CopyTask(Index delay, std::uint64_t seed, CopyTaskOptions options)
    : delay_(delay), options_(options), stream_(seed) {
  if (delay < 1 || delay > kMaxSequenceLength) {
    throw_bad_input("copy-memory: delay {} is not in [1, {}]", delay, kMaxSequenceLength);
  }
  if (options.symbols < 1 || options.symbols > kMaxSequenceLength) {
    throw_bad_input("copy-memory: {} symbols to copy is not in [1, {}]", options.symbols,
                    kMaxSequenceLength);
  }
  // One category would make the task trivial (nothing to remember: ln 1 = 0).
  if (options.alphabet < 2 || options.alphabet > 1'000'000) {
    throw_bad_input("copy-memory: alphabet of {} categories is not in [2, 1000000]",
                    options.alphabet);
  }
  if (options.test_size < 1) {
    throw_bad_input("copy-memory: test size {} is not positive", options.test_size);
  }
  check_sequence_storage("copy-memory: the test set", options.test_size, sequence_length(),
                         input_size(), sizeof(Scalar));
  Rng rng(seed);
  stream_ = rng.split();
  sample(options.test_size, rng, test_);
}

template <typename Scalar>
double CopyTask<Scalar>::baseline_loss() const {
  if (options_.recall_only) return std::log(static_cast<double>(options_.alphabet));
  return copy_memory_baseline(delay_, options_.symbols, options_.alphabet);
}

template <typename Scalar>
void CopyTask<Scalar>::sample(Index size, Rng& rng, SequenceBatch<Scalar>& batch) const {
  const Index k = options_.symbols;
  const Index steps = sequence_length();
  const Index delimiter_step = k + delay_ - 1;
  const Index recall_start = k + delay_;
  batch.steps = steps;
  batch.x.resize(input_size(), steps * size);
  batch.x.setZero();
  batch.targets.values.resize(0, 0);
  batch.targets.labels.assign(static_cast<std::size_t>(steps * size), kNoTarget);
  std::vector<int>& labels = batch.targets.labels;
  if (!options_.recall_only) {
    std::fill(labels.begin(), labels.begin() + recall_start * size, blank());
  }
  for (Index b = 0; b < size; ++b) {
    for (Index i = 0; i < k; ++i) {
      const auto symbol =
          static_cast<int>(rng.below(static_cast<std::uint64_t>(options_.alphabet)));
      batch.x(symbol, i * size + b) = Scalar(1);
      labels[static_cast<std::size_t>((recall_start + i) * size + b)] = symbol;
    }
    for (Index t = k; t < steps; ++t) {
      batch.x(t == delimiter_step ? delimiter() : blank(), t * size + b) = Scalar(1);
    }
  }
}

template <typename Scalar>
void CopyTask<Scalar>::next_batch(Index size, SequenceBatch<Scalar>& batch) {
  GRADSCOPE_CHECK(size > 0, "copy-memory: batch size {} is not positive", size);
  sample(size, stream_, batch);
}

template class CopyTask<float>;
template class CopyTask<double>;

}  // namespace gradscope
