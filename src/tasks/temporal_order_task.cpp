#include "gradscope/tasks/temporal_order_task.hpp"

#include <cmath>

#include "gradscope/core/error.hpp"

namespace gradscope {
namespace {

constexpr Index kDistractors = 4;  // a, b, c, d
constexpr Index kSymbolA = 4;      // B is kSymbolA + 1

// ceil(T * tenths / 10) in integers: the first integer step >= 0.tenths * T.
Index ceil_tenths(Index length, Index tenths) { return (length * tenths + 9) / 10; }

}  // namespace

template <typename Scalar>
TemporalOrderTask<Scalar>::TemporalOrderTask(Index length, std::uint64_t seed, Index test_size)
    : length_(length), stream_(seed) {
  if (length < 6 || length > kMaxSequenceLength) {
    throw_bad_input(
        "temporal-order: sequence length {} is not in [6, {}]: shorter sequences leave no step "
        "in [0.1 T, 0.2 T) or [0.5 T, 0.6 T) for the relevant symbols",
        length, kMaxSequenceLength);
  }
  first_ = {ceil_tenths(length, 1), ceil_tenths(length, 2)};
  second_ = {ceil_tenths(length, 5), ceil_tenths(length, 6)};
  GRADSCOPE_CHECK(first_.end > first_.begin && second_.end > second_.begin &&
                      first_.end <= second_.begin && second_.end <= length,
                  "temporal-order: empty or misplaced windows for T = {}", length);
  if (test_size < 1) throw_bad_input("temporal-order: test size {} is not positive", test_size);
  check_sequence_storage("temporal-order: the test set", test_size, length, 6, sizeof(Scalar));
  Rng rng(seed);
  stream_ = rng.split();
  sample(test_size, rng, test_);
}

template <typename Scalar>
double TemporalOrderTask<Scalar>::baseline_loss() const {
  return std::log(4.0);
}

template <typename Scalar>
void TemporalOrderTask<Scalar>::sample(Index size, Rng& rng, SequenceBatch<Scalar>& batch) const {
  const Index steps = length_;
  batch.steps = steps;
  batch.x.resize(6, steps * size);
  batch.x.setZero();
  batch.targets.values.resize(0, 0);
  batch.targets.labels.resize(static_cast<std::size_t>(size));
  // Places relevant symbol A or B at a random step of `window`; returns 0 for A, 1 for B.
  const auto place_relevant = [&](Window window, Index b) {
    const Index t =
        window.begin +
        static_cast<Index>(rng.below(static_cast<std::uint64_t>(window.end - window.begin)));
    const auto which = static_cast<Index>(rng.below(2));
    batch.x.col(t * size + b).setZero();  // replaces the distractor
    batch.x(kSymbolA + which, t * size + b) = Scalar(1);
    return which;
  };
  for (Index b = 0; b < size; ++b) {
    for (Index t = 0; t < steps; ++t) {
      batch.x(static_cast<Index>(rng.below(kDistractors)), t * size + b) = Scalar(1);
    }
    const Index first = place_relevant(first_, b);
    const Index second = place_relevant(second_, b);
    batch.targets.labels[static_cast<std::size_t>(b)] = static_cast<int>(2 * first + second);
  }
}

template <typename Scalar>
void TemporalOrderTask<Scalar>::next_batch(Index size, SequenceBatch<Scalar>& batch) {
  GRADSCOPE_CHECK(size > 0, "temporal-order: batch size {} is not positive", size);
  sample(size, stream_, batch);
}

template class TemporalOrderTask<float>;
template class TemporalOrderTask<double>;

}  // namespace gradscope
