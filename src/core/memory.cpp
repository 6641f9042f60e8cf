#include "gradscope/core/memory.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "gradscope/core/error.hpp"

namespace gradscope {

std::uint64_t available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    std::istringstream fields(line);
    std::string key;
    std::uint64_t kib = 0;
    if (fields >> key >> kib && key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

std::uint64_t saturating_bytes(double bytes) {
  constexpr double kMax = 1.8e19;  // just below 2^64
  return static_cast<std::uint64_t>(std::min(bytes, kMax));
}

void check_fits_in_memory(std::uint64_t bytes, const std::string& what) {
  const std::uint64_t available = available_memory_bytes();
  if (available == 0 || bytes <= available) return;
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  throw_bad_input("{} needs about {:.1f} GiB but only {:.1f} GiB is available", what,
                  static_cast<double>(bytes) / kGiB, static_cast<double>(available) / kGiB);
}

}  // namespace gradscope
