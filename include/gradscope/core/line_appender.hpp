// A file written one whole line at a time, as the run log and the sweep's results file are: each
// line goes out in one write(2) where the kernel allows (short writes and EINTR are retried), so
// a process killed between lines never leaves half a line behind, and every line written before
// the kill stays.
#pragma once

#include <cstddef>
#include <string>

namespace gradscope {

class LineAppender {
 public:
  // Opens `path`, creating it when missing, and cuts it to its first `keep_bytes` bytes (0: starts
  // it empty); lines go after them. `what` names the file in errors: "<what>: cannot open: <why>"
  // is a bad-input Error, a failure to cut or to write a runtime one.
  LineAppender(const std::string& path, std::size_t keep_bytes, std::string what);
  ~LineAppender();
  LineAppender(const LineAppender&) = delete;
  LineAppender& operator=(const LineAppender&) = delete;

  // Writes `line` and a newline.
  void append(std::string line);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string what_;
  int fd_ = -1;
};

}  // namespace gradscope
