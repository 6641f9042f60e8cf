// The fast kernels against their naive references: the column kernels against Eigen's own
// expressions, and the matrix products Eigen hands to OpenBLAS (EIGEN_USE_BLAS) against a plain
// triple loop in long double, in every transpose combination and on strided blocks as the layers
// use them, on one thread and on two.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include "gradscope/core/columns.hpp"
#include "gradscope/core/error.hpp"
#include "gradscope/core/random.hpp"
#include "gradscope/core/threads.hpp"

namespace gradscope {
namespace {

template <typename Scalar>
Matrix<Scalar> naive_product(const Matrix<Scalar>& a, const Matrix<Scalar>& b) {
  Matrix<Scalar> c(a.rows(), b.cols());
  for (Index i = 0; i < a.rows(); ++i) {
    for (Index j = 0; j < b.cols(); ++j) {
      long double sum = 0.0L;
      for (Index k = 0; k < a.cols(); ++k) {
        sum += static_cast<long double>(a(i, k)) * static_cast<long double>(b(k, j));
      }
      c(i, j) = static_cast<Scalar>(sum);
    }
  }
  return c;
}

// Relative to the size of the terms summed: |a| |b|.
template <typename Scalar>
double product_error(const Matrix<Scalar>& fast, const Matrix<Scalar>& a, const Matrix<Scalar>& b) {
  const Matrix<Scalar> reference = naive_product(a, b);
  const Matrix<Scalar> scale = naive_product<Scalar>(a.cwiseAbs(), b.cwiseAbs());
  return ((fast - reference).cwiseAbs().array() / scale.array()).maxCoeff();
}

template <typename Scalar>
void check_products(double tolerance) {
  Rng rng(3);
  // The layers' shapes: 256 x 256 by a batch, the LSTM's 4H x H step, a long thin projection.
  for (auto [m, k, n] : {std::array<Index, 3>{256, 256, 128}, {512, 128, 64}, {64, 2, 300}}) {
    const Matrix<Scalar> a = rng.normal_matrix<Scalar>(m, k);
    const Matrix<Scalar> b = rng.normal_matrix<Scalar>(k, n);
    Matrix<Scalar> c(m, n);
    c.noalias() = a * b;
    EXPECT_LT(product_error(c, a, b), tolerance) << m << "x" << k << "x" << n;
    const Matrix<Scalar> at = a.transpose();
    c.noalias() = at.transpose() * b;  // W^T dy
    EXPECT_LT(product_error(c, a, b), tolerance);
    const Matrix<Scalar> bt = b.transpose();
    c.noalias() = a * bt.transpose();  // dy x^T
    EXPECT_LT(product_error(c, a, b), tolerance);
    // Accumulating into a strided block of a larger matrix, as a time step's gates are.
    Matrix<Scalar> wide = Matrix<Scalar>::Ones(m + 3, 2 * n);
    Eigen::Ref<Matrix<Scalar>> block = wide.block(1, n, m, n);
    block.noalias() += a * b;
    const Matrix<Scalar> expected = naive_product(a, b).array() + Scalar(1);
    EXPECT_LT(((block - expected).cwiseAbs().array() /
               (naive_product<Scalar>(a.cwiseAbs(), b.cwiseAbs()).array() + Scalar(1)))
                  .maxCoeff(),
              tolerance);
    EXPECT_EQ(wide(0, n), Scalar(1));  // nothing written outside the block
    EXPECT_EQ(wide(m + 1, n), Scalar(1));
  }
}

TEST(Kernels, MatrixProductsAgreeWithTheNaiveLoopOnOneAndTwoThreads) {
  for (int threads : {1, 2}) {
    set_thread_count(threads);
    EXPECT_EQ(thread_count(), threads);
    check_products<float>(1e-5);
    check_products<double>(1e-13);
  }
  set_thread_count(1);
}

TEST(Kernels, ColumnKernelsAgreeWithEigensExpressions) {
  Rng rng(8);
  const Matrix<float> m = rng.normal_matrix<float>(96, 700);
  Matrix<float> sum = Matrix<float>::Ones(96, 1);
  add_column_sum<float>(m, sum);
  const Matrix<float> reference = (m.rowwise().sum().array() + 1.0f).matrix();
  EXPECT_LT((sum - reference).cwiseAbs().maxCoeff(), 1e-3f);

  const Matrix<double> bias = rng.normal_matrix<double>(7, 1);
  Matrix<double> out(7, 5);
  fill_columns<double>(out, bias);
  EXPECT_EQ(out, bias.replicate(1, 5));
  EXPECT_THROW(add_column_sum<float>(m, sum.topRows(3)), Error);
  EXPECT_THROW(fill_columns<double>(out, m.cast<double>().leftCols(1)), Error);
}

// The spectra run their QRs in this scope while the products around them use --threads; a scope
// on one thread must not reach another thread, and must give the count back when it ends.
TEST(Kernels, SingleThreadScopeLowersOnlyTheCallingThreadsCount) {
  set_thread_count(2);
  std::promise<void> scope_open;
  std::promise<int> seen_by_other;
  std::jthread other([&] {
    set_thread_count(2);
    scope_open.get_future().wait();
    seen_by_other.set_value(thread_count());
  });
  {
    const SingleThreadScope single_thread;
    EXPECT_EQ(thread_count(), 1);
    scope_open.set_value();
    EXPECT_EQ(seen_by_other.get_future().get(), 2);
  }
  EXPECT_EQ(thread_count(), 2);
  set_thread_count(1);
}

// The recurrent layers split their batch with run_on_threads: every worker must run once, with its
// products on one thread, and a worker's exception must reach the caller after the others ran.
TEST(Kernels, RunOnThreadsRunsEachWorkerOnceWithSingleThreadedProducts) {
  set_thread_count(2);
  for (const int workers : {2, 3}) {
    std::vector<std::atomic<int>> runs(static_cast<std::size_t>(workers));
    std::vector<int> counts(static_cast<std::size_t>(workers), 0);
    run_on_threads(workers, [&](int k) {
      ++runs[static_cast<std::size_t>(k)];
      counts[static_cast<std::size_t>(k)] = thread_count();
    });
    for (int k = 0; k < workers; ++k) {
      EXPECT_EQ(runs[static_cast<std::size_t>(k)], 1) << "worker " << k << " of " << workers;
      EXPECT_EQ(counts[static_cast<std::size_t>(k)], 1) << "worker " << k << " of " << workers;
    }
    EXPECT_EQ(thread_count(), 2);
  }
  // One worker: the calling thread, with its own count.
  const std::thread::id caller = std::this_thread::get_id();
  run_on_threads(1, [&](int k) {
    EXPECT_EQ(k, 0);
    EXPECT_EQ(std::this_thread::get_id(), caller);
    EXPECT_EQ(thread_count(), 2);
  });
  std::atomic<int> ran{0};
  EXPECT_THROW(run_on_threads(2,
                              [&](int k) {
                                ++ran;
                                if (k == 1) throw std::runtime_error("worker 1 failed");
                              }),
               std::runtime_error);
  EXPECT_EQ(ran, 2);
  EXPECT_EQ(thread_count(), 2);
  set_thread_count(1);
}

TEST(Kernels, ThreadCountBelowOneIsBadInput) {
  EXPECT_THROW(set_thread_count(0), Error);
  EXPECT_EQ(thread_count(), 1);
}

}  // namespace
}  // namespace gradscope
