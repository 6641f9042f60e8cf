#include "gradscope/tasks/teacher_task.hpp"

#include <cmath>

#include "gradscope/core/error.hpp"

namespace gradscope {
namespace {

constexpr Index kCalibrationSize = 4096;
constexpr double kBiasStd = 0.1;

// hidden = tanh(W1 x + b1): (hidden, batch).
void teacher_hidden(const Matrix<double>& w1, const Matrix<double>& b1, const Matrix<double>& x,
                    Matrix<double>& hidden) {
  hidden.resize(w1.rows(), x.cols());
  hidden.noalias() = w1 * x;
  hidden.colwise() += b1.col(0);
  hidden = hidden.array().tanh().matrix();
}

}  // namespace

template <typename Scalar>
TeacherTask<Scalar>::TeacherTask(Index inputs, Index outputs, std::uint64_t seed, Index hidden,
                                 Index test_size)
    : inputs_(inputs), outputs_(outputs), stream_(seed) {
  if (inputs < 1 || outputs < 1 || hidden < 1 || test_size < 1) {
    throw_bad_input(
        "teacher: inputs ({}), outputs ({}), hidden ({}) and test size ({}) must all "
        "be positive",
        inputs, outputs, hidden, test_size);
  }
  Rng rng(seed);
  // Split first: the stream then does not depend on how many draws the teacher takes.
  stream_ = rng.split();
  w1_ = rng.normal_matrix<double>(hidden, inputs, 1.0 / std::sqrt(static_cast<double>(inputs)));
  b1_ = rng.normal_matrix<double>(hidden, 1, kBiasStd);
  w2_ = rng.normal_matrix<double>(outputs, hidden, 1.0 / std::sqrt(static_cast<double>(hidden)));
  b2_ = rng.normal_matrix<double>(outputs, 1, kBiasStd);

  // Unit target variance: divide each row of W2 by the std of its output on fixed inputs.
  const Matrix<double> x = rng.normal_matrix<double>(inputs, kCalibrationSize);
  Matrix<double> h;
  teacher_hidden(w1_, b1_, x, h);
  Matrix<double> y(outputs, kCalibrationSize);
  y.noalias() = w2_ * h;
  for (Index i = 0; i < outputs; ++i) {
    const double mean = y.row(i).mean();
    const double variance =
        (y.row(i).array() - mean).square().sum() / static_cast<double>(kCalibrationSize - 1);
    GRADSCOPE_CHECK(variance > 0.0, "teacher: output {} is constant, cannot scale it", i);
    w2_.row(i) /= std::sqrt(variance);
  }

  sample(test_size, rng, test_);
}

template <typename Scalar>
void TeacherTask<Scalar>::sample(Index size, Rng& rng, Batch<Scalar>& batch) const {
  batch.x.resize(inputs_, size);
  for (Index j = 0; j < size; ++j)
    for (Index i = 0; i < inputs_; ++i) batch.x(i, j) = static_cast<Scalar>(rng.normal());
  // The teacher sees x as rounded to Scalar, so targets are exact for the network's inputs.
  const Matrix<double> x = batch.x.template cast<double>();
  Matrix<double> h;
  teacher_hidden(w1_, b1_, x, h);
  Matrix<double> y(outputs_, size);
  y.noalias() = w2_ * h;
  y.colwise() += b2_.col(0);
  batch.targets.values.resize(outputs_, size);
  batch.targets.values = y.template cast<Scalar>();
  batch.targets.labels.clear();
}

template <typename Scalar>
void TeacherTask<Scalar>::next_batch(Index size, Batch<Scalar>& batch) {
  GRADSCOPE_CHECK(size > 0, "teacher: batch size {} is not positive", size);
  sample(size, stream_, batch);
}

template class TeacherTask<float>;
template class TeacherTask<double>;

}  // namespace gradscope
