#include "gradscope/core/error.hpp"

namespace gradscope {

void throw_check_failure(const char* condition, const char* file, int line,
                         const std::string& message) {
  throw Error(ErrorKind::kRuntime,
              fmt::format("{} ({}:{}: check '{}' failed)", message, file, line, condition));
}

}  // namespace gradscope
