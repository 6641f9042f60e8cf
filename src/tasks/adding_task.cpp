#include "gradscope/tasks/adding_task.hpp"

#include "gradscope/core/error.hpp"

namespace gradscope {

template <typename Scalar>
AddingTask<Scalar>::AddingTask(Index length, std::uint64_t seed, Index test_size,
                               AddingLayout layout)
    : length_(length), layout_(layout), stream_(seed) {
  if (layout == AddingLayout::kFirstHalf && length < 4) {
    throw_bad_input(
        "adding-first-half: sequence length {} is below 4: the two markers need two "
        "quarters",
        length);
  }
  if (length < 2 || length > kMaxSequenceLength) {
    throw_bad_input(
        "adding: sequence length {} is not in [2, {}]: the two markers need a first and a "
        "second half",
        length, kMaxSequenceLength);
  }
  if (test_size < 1) throw_bad_input("adding: test size {} is not positive", test_size);
  check_sequence_storage("adding: the test set", test_size, length, 2, sizeof(Scalar));
  Rng rng(seed);
  // Split first: the training stream then does not depend on the test set's draws.
  stream_ = rng.split();
  sample(test_size, rng, test_);
}

template <typename Scalar>
void AddingTask<Scalar>::sample(Index size, Rng& rng, SequenceBatch<Scalar>& batch) const {
  const Index steps = length_;
  const Index half = steps / 2;
  batch.steps = steps;
  batch.x.resize(2, steps * size);
  batch.targets.values.resize(1, size);
  batch.targets.labels.clear();
  for (Index b = 0; b < size; ++b) {
    for (Index t = 0; t < steps; ++t) {
      batch.x(0, t * size + b) = static_cast<Scalar>(rng.uniform());
      batch.x(1, t * size + b) = Scalar(0);
    }
    // kHalves: [0, half) and [half, T); kFirstHalf: [0, quarter) and [quarter, half).
    const Index split = layout_ == AddingLayout::kHalves ? half : steps / 4;
    const Index end = layout_ == AddingLayout::kHalves ? steps : half;
    const Index first = static_cast<Index>(rng.below(static_cast<std::uint64_t>(split)));
    const Index second =
        split + static_cast<Index>(rng.below(static_cast<std::uint64_t>(end - split)));
    batch.x(1, first * size + b) = Scalar(1);
    batch.x(1, second * size + b) = Scalar(1);
    // The sum of the values as the model sees them (rounded to Scalar), added in double.
    const double sum = static_cast<double>(batch.x(0, first * size + b)) +
                       static_cast<double>(batch.x(0, second * size + b));
    batch.targets.values(0, b) = static_cast<Scalar>(sum);
  }
}

template <typename Scalar>
void AddingTask<Scalar>::next_batch(Index size, SequenceBatch<Scalar>& batch) {
  GRADSCOPE_CHECK(size > 0, "adding: batch size {} is not positive", size);
  sample(size, stream_, batch);
}

template class AddingTask<float>;
template class AddingTask<double>;

}  // namespace gradscope
