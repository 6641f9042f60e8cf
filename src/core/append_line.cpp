#include "gradscope/core/append_line.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gradscope/core/error.hpp"

namespace gradscope {

void append_line(int fd, std::string line, std::string_view what) {
  line.push_back('\n');  // one buffer, one write(2)
  const char* data = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t written = ::write(fd, data, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorKind::kRuntime, fmt::format("{}: {}", what, std::strerror(errno)));
    }
    data += written;
    left -= static_cast<std::size_t>(written);
  }
}

}  // namespace gradscope
