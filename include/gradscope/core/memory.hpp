// How much memory this machine can give a run, so that a size that cannot fit is refused up
// front with a clear message instead of dying half-way through.
#pragma once

#include <cstdint>
#include <string>

namespace gradscope {

// MemAvailable from /proc/meminfo, in bytes (0 if it cannot be read).
std::uint64_t available_memory_bytes();

// Bad-input Error "<what> needs about X GiB but only Y GiB is available" when `bytes` exceeds
// the available memory. Does nothing when the available memory cannot be read.
void check_fits_in_memory(std::uint64_t bytes, const std::string& what);

// A byte count worked out in double, so that no product of sizes overflows, as an integer:
// clamped just below 2^64, which check_fits_in_memory refuses on any machine.
std::uint64_t saturating_bytes(double bytes);

}  // namespace gradscope
