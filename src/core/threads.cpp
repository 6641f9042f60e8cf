#include "gradscope/core/threads.hpp"

#include <omp.h>

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

SingleThreadScope::SingleThreadScope() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }

SingleThreadScope::~SingleThreadScope() { omp_set_num_threads(saved_); }

}  // namespace gradscope
