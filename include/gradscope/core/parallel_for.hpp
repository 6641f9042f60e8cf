// Runs task(0) ... task(count - 1) on `jobs` threads, each taking the next index when it is
// free (so long and short tasks even out). Returns when all are done; the first exception a
// task throws is rethrown here after every thread has stopped taking work.
#pragma once

#include <cstddef>
#include <functional>

namespace gradscope {

void parallel_for(std::size_t count, int jobs, const std::function<void(std::size_t)>& task);

}  // namespace gradscope
