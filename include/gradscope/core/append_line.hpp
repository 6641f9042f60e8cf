// Appending one line to a file descriptor opened with O_APPEND, as the run log and the sweep's
// results file do: the whole line goes out in one write(2) where the kernel allows (short writes
// and EINTR are retried), so a process killed between lines never leaves half a line behind.
#pragma once

#include <string>
#include <string_view>

namespace gradscope {

// Writes `line` and a newline to `fd`; a runtime Error "<what>: <strerror>" if that fails.
void append_line(int fd, std::string line, std::string_view what);

}  // namespace gradscope
