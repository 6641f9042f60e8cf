#include "trial_runner.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "gradscope/core/error.hpp"

extern char** environ;

namespace gradscope::cli {

std::string self_executable() {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) {
    throw Error(ErrorKind::kRuntime,
                fmt::format("cannot locate the gradscope executable: {}", error.message()));
  }
  return self.string();
}

int run_self(const std::vector<std::string>& args, const std::string& output_path) {
  const std::string exe = self_executable();
  std::vector<std::string> command = {exe};
  command.insert(command.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : command) argv.push_back(arg.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  const std::string what = args.empty() ? exe : fmt::format("{} {}", exe, args.front());
  if (spawned != 0) {
    throw Error(ErrorKind::kRuntime,
                fmt::format("cannot start {}: {}", what, std::strerror(spawned)));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      throw Error(ErrorKind::kRuntime,
                  fmt::format("waiting for {}: {}", what, std::strerror(errno)));
    }
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TrialResult run_trial(const std::vector<std::string>& train_args, const std::string& log_path,
                      const std::string& output_path) {
  TrialResult result;
  result.log_path = log_path;
  result.output_path = output_path;
  std::vector<std::string> args = {"train"};
  args.insert(args.end(), train_args.begin(), train_args.end());
  for (const char* extra : {"--log", log_path.c_str(), "--progress-every", "0"}) {
    args.emplace_back(extra);
  }
  const auto start = std::chrono::steady_clock::now();
  result.exit_code = run_self(args, output_path);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace gradscope::cli
