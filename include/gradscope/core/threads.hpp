// How many threads gradscope's matrix products use. Eigen splits a large product over OpenMP
// threads, and recurrent layers split their batch (run_on_threads); everything else runs on the
// calling thread. The gradscope executable starts with 1 (a sweep or a test suite already runs
// one process per core) and takes --threads N.
//
// The count belongs to the calling thread (OpenMP keeps it per thread), so a scope that lowers it
// does not change what other threads use.
#pragma once

#include <functional>

namespace gradscope {

// n >= 1; bad-input Error otherwise.
void set_thread_count(int n);
int thread_count();

// The calling thread's products run on one thread until the scope ends, then on as many as
// before. For work made of products too small to split, such as the panel updates of a QR.
class SingleThreadScope {
 public:
  SingleThreadScope();
  ~SingleThreadScope();
  SingleThreadScope(const SingleThreadScope&) = delete;
  SingleThreadScope& operator=(const SingleThreadScope&) = delete;

 private:
  int saved_;
};

// Runs task(0) .. task(workers - 1) at once, one per thread of OpenMP's team (the threads the
// products use, already running), each task's own products on its own thread. For work that
// splits into independent parts, each too small for its products to split well. Returns when all
// are done and rethrows the first exception a task threw. With workers <= 1, task(0) runs on the
// calling thread and its products keep the caller's thread count.
void run_on_threads(int workers, const std::function<void(int)>& task);

}  // namespace gradscope
