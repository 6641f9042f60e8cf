// gradscope's one exception type and the always-on check that throws it.
//
// Library code never exits or prints: it throws gradscope::Error with a message that says what
// is wrong and where; only cli/main.cpp catches, prints one line and picks the exit code.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace gradscope {

enum class ErrorKind {
  kBadInput,  // the user's flags, files or data are wrong: exit code 2
  kRuntime,   // anything else (a diverged run, an internal invariant): exit code 1
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// Bad input from the user: message names the flag, file, line or field.
template <typename... Args>
[[noreturn]] void throw_bad_input(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(ErrorKind::kBadInput, fmt::format(format, std::forward<Args>(args)...));
}

[[noreturn]] void throw_check_failure(const char* condition, const char* file, int line,
                                      const std::string& message);

}  // namespace gradscope

// Always on (also in release builds): an internal invariant; the message carries file and line.
#define GRADSCOPE_CHECK(condition, ...)                                \
  do {                                                                 \
    if (!(condition)) {                                                \
      ::gradscope::throw_check_failure(#condition, __FILE__, __LINE__, \
                                       ::fmt::format(__VA_ARGS__));    \
    }                                                                  \
  } while (false)
