// Teacher-network regression: targets are the outputs of a fixed random network.
//
//   x ~ N(0, I) in R^inputs;   y = W2 tanh(W1 x + b1) + b2 in R^outputs
//   W1: (hidden, inputs) ~ N(0, 1/inputs), W2: (outputs, hidden) ~ N(0, 1/hidden) scaled so that
//   each target has variance about 1; b1, b2 ~ N(0, 0.1^2).
// Scaling: row i of W2 is divided by the standard deviation of (W2 tanh(W1 x + b1))_i over a
// fixed calibration sample of 4096 inputs (not the test set, so the scale does not depend on
// test_size); every target then has variance 1 up to sampling noise (b2 only shifts the mean).
// Randomness: Rng(seed) first gives the training stream by one split(), then draws W1, b1, W2,
// b2, the calibration inputs and the test set, in that order. The same seed therefore gives the
// same teacher, test set and sequence of batches. The teacher is evaluated in double on the
// inputs as rounded to Scalar, so targets are exact for the inputs the network sees. Loss: MSE.
#pragma once

#include "gradscope/core/random.hpp"
#include "gradscope/tasks/task.hpp"

namespace gradscope {

template <typename Scalar>
class TeacherTask final : public Task<Scalar> {
 public:
  TeacherTask(Index inputs, Index outputs, std::uint64_t seed, Index hidden = 64,
              Index test_size = 2048);

  std::string_view name() const override { return "teacher"; }
  Index input_size() const override { return inputs_; }
  Index output_size() const override { return outputs_; }
  LossKind loss() const override { return LossKind::kMse; }
  void next_batch(Index size, Batch<Scalar>& batch) override;
  const Batch<Scalar>& test_set() const override { return test_; }

 private:
  void sample(Index size, Rng& rng, Batch<Scalar>& batch) const;

  Index inputs_;
  Index outputs_;
  // w1_ (hidden, inputs), b1_ (hidden, 1), w2_ (outputs, hidden), b2_ (outputs, 1).
  Matrix<double> w1_, b1_, w2_, b2_;
  Rng stream_;
  Batch<Scalar> test_;
};

}  // namespace gradscope
