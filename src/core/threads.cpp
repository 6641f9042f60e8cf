#include "gradscope/core/threads.hpp"

#include <omp.h>

#include <exception>
#include <mutex>

#include "gradscope/core/error.hpp"
#include "gradscope/core/types.hpp"

namespace gradscope {

// Eigen splits a large product into column blocks, one per thread, and hands each block to
// OpenBLAS, which runs single-threaded inside Eigen's parallel region. Measured against leaving
// Eigen on one thread and letting OpenBLAS thread each product itself: faster on 2 threads for
// every workload of `gradscope bench` (mlp 27.9 against 33.8 ms, lstm with per-step gradients
// 87.5 against 94.5 ms).
//
// Only OpenMP's per-thread count is set, never Eigen::setNbThreads: Eigen then reads
// omp_get_max_threads() of the thread that calls it, and so does OpenBLAS outside Eigen's
// parallel regions, which is what lets SingleThreadScope be local to one thread.
void set_thread_count(int n) {
  if (n < 1) throw_bad_input("the thread count must be at least 1, got {}", n);
  omp_set_num_threads(n);
}

int thread_count() { return Eigen::nbThreads(); }

void run_on_threads(int workers, const std::function<void(int)>& task) {
  if (workers <= 1) {
    task(0);
    return;
  }
  std::exception_ptr failure;
  std::mutex failure_mutex;
#pragma omp parallel num_threads(workers)
  {
    const SingleThreadScope single_thread;
    // OpenMP may start fewer threads than asked (inside another parallel region, one): each
    // takes every team-size-th task. An exception must not leave the region; the first is kept.
    try {
      for (int k = omp_get_thread_num(); k < workers; k += omp_get_num_threads()) task(k);
    } catch (...) {
      const std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
}

SingleThreadScope::SingleThreadScope() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }

SingleThreadScope::~SingleThreadScope() { omp_set_num_threads(saved_); }

}  // namespace gradscope
