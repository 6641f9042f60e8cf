// Running the gradscope executable (or any shell command) from a test and reading its outcome.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace gradscope::testing {

struct ShellResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `command` with /bin/sh, capturing stdout and stderr.
ShellResult run_shell(const std::string& command);

// A fresh empty directory under the test temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::string& path);
std::vector<std::string> read_lines(const std::string& path);

}  // namespace gradscope::testing
