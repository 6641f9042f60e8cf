#include "gradscope/sweep/parallel_for.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
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

TEST(ParallelFor, RethrowsTheFirstFailureAfterStopping) {
  std::atomic<int> after{0};
  EXPECT_THROW(parallel_for(1000, 2,
                            [&](std::size_t i) {
                              if (i == 3) throw std::runtime_error("point 3");
                              if (i > 500) ++after;
                            }),
               std::runtime_error);
  EXPECT_LT(after, 400) << "workers stop taking work after a failure";
}

}  // namespace
}  // namespace gradscope
