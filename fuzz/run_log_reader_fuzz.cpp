// libFuzzer target for the run-log reader (issue 6). Any bytes must either read, or throw
// gradscope::Error, the documented outcome of bad input. Any other exception escapes and libFuzzer
// reports it as a crash, as it does ASan and UBSan findings and the invariants checked below.
//
// Built by the `fuzz` preset (fuzz/CMakeLists.txt); how to run it: docs/run-log.md, "Fuzzing".
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gradscope/core/error.hpp"
#include "gradscope/probe/run_log_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

// Every line number the reader reports lies in the text.
void check_lines(const gradscope::RunLogFile& log, long line_count) {
  const auto in_text = [line_count](long line) { return line >= 1 && line <= line_count; };
  for (const gradscope::LogIssue& issue : log.issues) {
    if (!in_text(issue.line)) std::abort();
  }
  for (const gradscope::LoggedRun& run : log.runs) {
    if (run.header_line != 0 && !in_text(run.header_line)) std::abort();
    for (const gradscope::LoggedStep& step : run.steps) {
      if (!in_text(step.line)) std::abort();
    }
    if (run.end && !in_text(run.end->line)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  long line_count = 1;
  for (char c : text) line_count += c == '\n' ? 1 : 0;
  try {
    check_lines(gradscope::parse_run_log(text, "fuzz"), line_count);
  } catch (const gradscope::Error& e) {
    // Bad input: the message names the file it was given.
    if (std::string_view(e.what()).substr(0, 4) != "fuzz") std::abort();
  }
  return 0;
}
