#include "gradscope/tasks/teacher_task.hpp"

#include <gtest/gtest.h>

#include "gradscope/core/error.hpp"

namespace gradscope {
namespace {

template <typename Scalar>
bool same(const Batch<Scalar>& a, const Batch<Scalar>& b) {
  return a.x.rows() == b.x.rows() && a.x.cols() == b.x.cols() && a.x == b.x &&
         a.targets.values.rows() == b.targets.values.rows() &&
         a.targets.values.cols() == b.targets.values.cols() &&
         a.targets.values == b.targets.values && a.targets.labels == b.targets.labels;
}

TEST(TeacherTask, ShapesMatchTheSizes) {
  TeacherTask<float> task(5, 3, 1, 16, 100);
  EXPECT_EQ(task.name(), "teacher");
  EXPECT_EQ(task.input_size(), 5);
  EXPECT_EQ(task.output_size(), 3);
  EXPECT_EQ(task.loss(), LossKind::kMse);
  EXPECT_FALSE(task.is_classification());

  const Batch<float>& test = task.test_set();
  EXPECT_EQ(test.x.rows(), 5);
  EXPECT_EQ(test.x.cols(), 100);
  EXPECT_EQ(test.targets.values.rows(), 3);
  EXPECT_EQ(test.targets.values.cols(), 100);
  EXPECT_TRUE(test.targets.labels.empty());

  Batch<float> batch;
  task.next_batch(7, batch);
  EXPECT_EQ(batch.size(), 7);
  EXPECT_EQ(batch.x.rows(), 5);
  EXPECT_EQ(batch.targets.values.rows(), 3);
  EXPECT_EQ(batch.targets.values.cols(), 7);
  EXPECT_TRUE(batch.x.allFinite());
  EXPECT_TRUE(batch.targets.values.allFinite());
}

TEST(TeacherTask, SameSeedGivesIdenticalBatchesAndTestSet) {
  TeacherTask<float> a(6, 2, 42);
  TeacherTask<float> b(6, 2, 42);
  EXPECT_TRUE(same(a.test_set(), b.test_set()));
  Batch<float> batch_a;
  Batch<float> batch_b;
  for (int step = 0; step < 3; ++step) {
    a.next_batch(16, batch_a);
    b.next_batch(16, batch_b);
    EXPECT_TRUE(same(batch_a, batch_b)) << "step " << step;
  }
}

TEST(TeacherTask, DifferentSeedsDiffer) {
  TeacherTask<double> a(6, 2, 1);
  TeacherTask<double> b(6, 2, 2);
  EXPECT_NE(a.test_set().x, b.test_set().x);
  EXPECT_NE(a.test_set().targets.values, b.test_set().targets.values);
  Batch<double> batch_a;
  Batch<double> batch_b;
  a.next_batch(8, batch_a);
  b.next_batch(8, batch_b);
  EXPECT_NE(batch_a.x, batch_b.x);
  EXPECT_NE(batch_a.targets.values, batch_b.targets.values);
}

// Variance of each target (row) of a (outputs, batch) matrix.
Vector<double> row_variances(const Matrix<double>& y) {
  Vector<double> variances(y.rows());
  for (Index i = 0; i < y.rows(); ++i) {
    const double mean = y.row(i).mean();
    variances(i) = (y.row(i).array() - mean).square().sum() / static_cast<double>(y.cols() - 1);
  }
  return variances;
}

TEST(TeacherTask, EachTargetHasVarianceAboutOne) {
  // Several shapes, including a narrow teacher and many inputs, where an unscaled W2 is far off.
  const Index shapes[][3] = {{4, 3, 64}, {1, 2, 2}, {100, 5, 8}, {20, 1, 256}};
  for (const auto& shape : shapes) {
    TeacherTask<double> task(shape[0], shape[1], 7, shape[2], 2048);
    const Vector<double> test_variances = row_variances(task.test_set().targets.values);
    Batch<double> batch;
    task.next_batch(4096, batch);
    const Vector<double> train_variances = row_variances(batch.targets.values);
    for (Index i = 0; i < shape[1]; ++i) {
      EXPECT_GE(test_variances(i), 0.5) << "inputs " << shape[0] << " output " << i;
      EXPECT_LE(test_variances(i), 2.0) << "inputs " << shape[0] << " output " << i;
      EXPECT_GE(train_variances(i), 0.5) << "inputs " << shape[0] << " output " << i;
      EXPECT_LE(train_variances(i), 2.0) << "inputs " << shape[0] << " output " << i;
    }
  }
}

TEST(TeacherTask, TestSetIsFixedAcrossCalls) {
  TeacherTask<float> task(4, 2, 3, 32, 64);
  const Batch<float> before = task.test_set();
  Batch<float> batch;
  task.next_batch(64, batch);
  task.next_batch(64, batch);
  EXPECT_TRUE(same(before, task.test_set()));
  EXPECT_EQ(&task.test_set(), &task.test_set());
  // Training batches come from their own stream, not the test set's.
  EXPECT_NE(batch.x, before.x);
}

TEST(TeacherTask, BatchesChangeBetweenCallsAndReuseStorage) {
  TeacherTask<float> task(4, 2, 3);
  Batch<float> batch;
  task.next_batch(32, batch);
  const Batch<float> first = batch;
  const float* x_storage = batch.x.data();
  const float* y_storage = batch.targets.values.data();
  task.next_batch(32, batch);
  EXPECT_NE(batch.x, first.x);
  EXPECT_NE(batch.targets.values, first.targets.values);
  EXPECT_EQ(batch.x.data(), x_storage);
  EXPECT_EQ(batch.targets.values.data(), y_storage);
  task.next_batch(5, batch);
  EXPECT_EQ(batch.size(), 5);
}

TEST(TeacherTask, FloatAndDoubleAgreeUpToRounding) {
  TeacherTask<float> single(8, 3, 11);
  TeacherTask<double> twice(8, 3, 11);
  const Matrix<double> x_single = single.test_set().x.cast<double>();
  const Matrix<double> y_single = single.test_set().targets.values.cast<double>();
  EXPECT_LE((x_single - twice.test_set().x).cwiseAbs().maxCoeff(), 1e-6);
  EXPECT_LE((y_single - twice.test_set().targets.values).cwiseAbs().maxCoeff(), 1e-5);
}

TEST(TeacherTask, RejectsNonPositiveSizes) {
  for (const Index bad : {Index{0}, Index{-1}}) {
    try {
      TeacherTask<float> task(bad, 2, 1);
      ADD_FAILURE() << "no error for inputs " << bad;
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::kBadInput);
      EXPECT_NE(std::string(error.what()).find("inputs"), std::string::npos) << error.what();
    }
    EXPECT_THROW(TeacherTask<float>(3, bad, 1), Error);
    EXPECT_THROW(TeacherTask<float>(3, 2, 1, bad), Error);
    EXPECT_THROW(TeacherTask<float>(3, 2, 1, 8, bad), Error);
  }
}

}  // namespace
}  // namespace gradscope
