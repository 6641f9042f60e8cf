#include "gradscope/tasks/fashion_mnist_sequence.hpp"

#include <cmath>
#include <utility>

#include "gradscope/core/error.hpp"

namespace gradscope {
namespace {

constexpr Index kPixels = 784;

Index steps_of(FashionMnistSequence order) {
  return order == FashionMnistSequence::kRows ? 28 : kPixels;
}

}  // namespace

template <typename Scalar>
FashionMnistSequenceTask<Scalar>::FashionMnistSequenceTask(FashionMnistSequence order,
                                                           std::uint64_t seed,
                                                           const std::string& directory)
    : FashionMnistSequenceTask(order, FashionMnistTask<Scalar>(seed, directory)) {}

template <typename Scalar>
FashionMnistSequenceTask<Scalar>::FashionMnistSequenceTask(FashionMnistSequence order,
                                                           FashionMnistTask<Scalar> flat)
    : order_(order), steps_(steps_of(order)), flat_(std::move(flat)) {
  to_sequence(flat_.test_set(), test_);
}

template <typename Scalar>
std::string_view FashionMnistSequenceTask<Scalar>::name() const {
  return order_ == FashionMnistSequence::kRows ? "fashion-mnist-rows" : "fashion-mnist-pixels";
}

template <typename Scalar>
double FashionMnistSequenceTask<Scalar>::baseline_loss() const {
  return std::log(10.0);
}

template <typename Scalar>
void FashionMnistSequenceTask<Scalar>::to_sequence(const Batch<Scalar>& flat,
                                                   SequenceBatch<Scalar>& sequence) const {
  GRADSCOPE_CHECK(flat.x.rows() == kPixels, "{}: flat images have {} pixels, expected {}", name(),
                  flat.x.rows(), kPixels);
  const Index size = flat.x.cols();
  const Index inputs = input_size();
  sequence.steps = steps_;
  sequence.x.resize(inputs, steps_ * size);
  for (Index b = 0; b < size; ++b) {
    for (Index t = 0; t < steps_; ++t) {
      sequence.x.col(t * size + b) = flat.x.col(b).segment(t * inputs, inputs);
    }
  }
  sequence.targets.values.resize(0, 0);
  sequence.targets.labels = flat.targets.labels;
}

template <typename Scalar>
void FashionMnistSequenceTask<Scalar>::next_batch(Index size, SequenceBatch<Scalar>& batch) {
  GRADSCOPE_CHECK(size > 0, "{}: batch size {} is not positive", name(), size);
  flat_.next_batch(size, flat_batch_);
  to_sequence(flat_batch_, batch);
}

template class FashionMnistSequenceTask<float>;
template class FashionMnistSequenceTask<double>;

}  // namespace gradscope
