// The matrix product behind every workload, two ways: Eigen's own kernel (what gradscope uses,
// compiled with -O3 -march=native) and Debian's OpenBLAS through its CBLAS interface (what
// PyTorch uses here, and what Eigen's EIGEN_USE_BLAS backend would call), float32 and float64,
// at the square sizes of `gradscope bench gemm` and at the shapes the workloads multiply:
//   layer   (256 x 256) (256 x 128)   the mlp step's forward
//   gates   (512 x 128) (128 x 64)    an LSTM step's W_hh h (4H x H by H x B)
//   factor  (256 x 256) (256 x 256)   one factor of the spectrum workload (float64)
// Built only where OpenBLAS's development files are (libopenblas-openmp-dev); threads from
// OMP_NUM_THREADS (both sides use the same OpenMP runtime).
//
//   ./build/release/bench/gemm_bench --benchmark_repetitions=5
//       --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
//       (one command line)
#include <benchmark/benchmark.h>
#include <cblas.h>

#include "gradscope/core/types.hpp"

namespace gradscope {
namespace {

template <typename Scalar>
struct Operands {
  Matrix<Scalar> a, b, c;
  Operands(Index m, Index k, Index n)
      : a(Matrix<Scalar>::Random(m, k)),
        b(Matrix<Scalar>::Random(k, n)),
        c(Matrix<Scalar>::Zero(m, n)) {}
};

void set_flops(benchmark::State& state, Index m, Index k, Index n) {
  state.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * static_cast<double>(m) * static_cast<double>(k) * static_cast<double>(n) * 1e-9,
      benchmark::Counter::kIsIterationInvariantRate);
}

template <typename Scalar>
void BM_Eigen(benchmark::State& state) {
  const Index m = state.range(0), k = state.range(1), n = state.range(2);
  Operands<Scalar> x(m, k, n);
  for (auto _ : state) {
    x.c.noalias() = x.a * x.b;
    benchmark::DoNotOptimize(x.c.data());
  }
  set_flops(state, m, k, n);
}

void gemm(const Operands<float>& x, Matrix<float>& c) {
  cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(c.rows()),
              static_cast<int>(c.cols()), static_cast<int>(x.a.cols()), 1.0f, x.a.data(),
              static_cast<int>(x.a.rows()), x.b.data(), static_cast<int>(x.b.rows()), 0.0f,
              c.data(), static_cast<int>(c.rows()));
}

void gemm(const Operands<double>& x, Matrix<double>& c) {
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(c.rows()),
              static_cast<int>(c.cols()), static_cast<int>(x.a.cols()), 1.0, x.a.data(),
              static_cast<int>(x.a.rows()), x.b.data(), static_cast<int>(x.b.rows()), 0.0, c.data(),
              static_cast<int>(c.rows()));
}

template <typename Scalar>
void BM_OpenBlas(benchmark::State& state) {
  const Index m = state.range(0), k = state.range(1), n = state.range(2);
  Operands<Scalar> x(m, k, n);
  for (auto _ : state) {
    gemm(x, x.c);
    benchmark::DoNotOptimize(x.c.data());
  }
  set_flops(state, m, k, n);
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"m", "k", "n"});
  for (long size : {256, 512, 1024, 2048}) b->Args({size, size, size});
  b->Args({256, 256, 128});
  b->Args({512, 128, 64});
}

BENCHMARK(BM_Eigen<float>)->Apply(shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_OpenBlas<float>)->Apply(shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Eigen<double>)->Args({256, 256, 256})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_OpenBlas<double>)->Args({256, 256, 256})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace gradscope

BENCHMARK_MAIN();
