#include "gradscope/core/line_appender.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "gradscope/core/error.hpp"

namespace gradscope {

LineAppender::LineAppender(const std::string& path, std::size_t keep_bytes, std::string what)
    : path_(path), what_(std::move(what)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw_bad_input("{}: cannot open: {}", what_, std::strerror(errno));
  if (::ftruncate(fd_, static_cast<off_t>(keep_bytes)) != 0 || ::lseek(fd_, 0, SEEK_END) < 0) {
    const int error = errno;
    ::close(fd_);
    fd_ = -1;
    throw Error(ErrorKind::kRuntime,
                fmt::format("{}: cannot prepare for appending: {}", what_, std::strerror(error)));
  }
}

LineAppender::~LineAppender() {
  if (fd_ >= 0) ::close(fd_);
}

void LineAppender::append(std::string line) {
  line.push_back('\n');  // one buffer, one write(2)
  const char* data = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t written = ::write(fd_, data, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorKind::kRuntime,
                  fmt::format("{}: cannot write: {}", what_, std::strerror(errno)));
    }
    data += written;
    left -= static_cast<std::size_t>(written);
  }
}

}  // namespace gradscope
