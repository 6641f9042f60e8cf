#include "gradscope/tasks/sequence_task.hpp"

#include "gradscope/core/error.hpp"
#include "gradscope/core/memory.hpp"

namespace gradscope {

void check_sequence_storage(const std::string& what, Index count, Index steps, Index inputs,
                            std::size_t scalar_bytes) {
  // In double first: absurd sizes would overflow the 64-bit byte count.
  const double bytes = static_cast<double>(count) * static_cast<double>(steps) *
                       static_cast<double>(inputs) * static_cast<double>(scalar_bytes);
  if (bytes > 0x1p62) {
    throw_bad_input("{} ({} sequences of {} steps of {} inputs) is too large to store", what, count,
                    steps, inputs);
  }
  check_fits_in_memory(
      static_cast<std::uint64_t>(bytes),
      fmt::format("{} ({} sequences of {} steps of {} inputs)", what, count, steps, inputs));
}

}  // namespace gradscope
