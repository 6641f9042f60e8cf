#include "gradscope/report/svg_copies.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include "gradscope/core/error.hpp"

extern char** environ;

namespace gradscope {

namespace fs = std::filesystem;

std::optional<fs::path> find_on_path(std::string_view program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return std::nullopt;
  const std::string dirs(path);
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const fs::path candidate = fs::path(dirs.substr(start, end - start)) / program;
    if (end > start && ::access(candidate.c_str(), X_OK) == 0 && fs::is_regular_file(candidate)) {
      return candidate;
    }
    start = end + 1;
  }
  return std::nullopt;
}

bool render_svg_copies(const fs::path& assets_dir, const fs::path& run_dir) {
  const std::optional<fs::path> node = find_on_path("node");
  if (!node) return false;
  const fs::path script = assets_dir / "render_svg.mjs";
  if (!fs::is_regular_file(script)) {
    throw Error(ErrorKind::kRuntime,
                fmt::format("{} is missing: the SVG copies cannot be made", script.string()));
  }
  // argv without a shell: paths are passed as they are, whatever characters they hold. The
  // script's list of written files goes to /dev/null (the caller lists them); its errors to our
  // stderr.
  std::vector<std::string> args = {node->string(), script.string(), assets_dir.string(),
                                   run_dir.string()};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    throw Error(ErrorKind::kRuntime, fmt::format("cannot start {}", node->string()));
  }
  int status = 0;
  pid_t waited = 0;
  do {
    waited = ::waitpid(pid, &status, 0);
  } while (waited < 0 && errno == EINTR);
  if (waited < 0) throw Error(ErrorKind::kRuntime, "lost track of render_svg.mjs");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw Error(ErrorKind::kRuntime,
                fmt::format("{} failed: the SVG copies were not all written", script.string()));
  }
  return true;
}

}  // namespace gradscope
