#include "gradscope/core/parallel_for.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

namespace gradscope {
namespace {

TEST(ParallelFor, RunsEveryIndexExactlyOnce) {
  for (int jobs : {1, 2, 5, 64}) {
    std::vector<std::atomic<int>> runs(37);
    parallel_for(runs.size(), jobs, [&](std::size_t i) { ++runs[i]; });
    for (std::size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(runs[i], 1) << i << " jobs " << jobs;
  }
  parallel_for(0, 4, [](std::size_t) { FAIL() << "no work"; });
}

// Tasks after index 3 wait for its failure and then take 1 ms each: a worker that kept taking
// work would reach index 500 after half a second, far longer than the failure takes to stop it
// (microseconds; the test takes about 1 ms). A bare version of this test once raced: one worker
// ran all 1,000 before the other had started.
TEST(ParallelFor, RethrowsTheFirstFailureAfterStopping) {
  std::atomic<bool> failed{false};
  std::atomic<int> after{0};
  EXPECT_THROW(parallel_for(1000, 2,
                            [&](std::size_t i) {
                              if (i == 3) {
                                failed = true;
                                throw std::runtime_error("point 3");
                              }
                              if (i < 3) return;
                              while (!failed) std::this_thread::yield();
                              std::this_thread::sleep_for(std::chrono::milliseconds(1));
                              if (i > 500) ++after;
                            }),
               std::runtime_error);
  EXPECT_EQ(after, 0) << "workers stop taking work after a failure";
}

}  // namespace
}  // namespace gradscope
