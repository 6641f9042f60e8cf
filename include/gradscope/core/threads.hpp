// How many threads gradscope's matrix products use. Eigen splits a large product over OpenMP
// threads; everything else runs on the calling thread. The gradscope executable starts with 1
// (a sweep or a test suite already runs one process per core) and takes --threads N.
#pragma once

namespace gradscope {

// n >= 1; bad-input Error otherwise.
void set_thread_count(int n);
int thread_count();

}  // namespace gradscope
