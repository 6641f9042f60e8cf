#include "progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace gradscope::cli {

namespace {

std::string clock_text(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
                   : fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string loss_text(std::optional<double> loss) {
  return loss ? fmt::format(" loss {:.4g}", *loss) : std::string();
}

}  // namespace

Progress::Progress(std::string label, long total, long every)
    : label_(std::move(label)),
      total_(total),
      every_(every),
      terminal_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

void Progress::update(long done, std::optional<double> loss) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
  if (terminal_) {
    // Redraw at most ten times a second, and always at the end.
    if (done != total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * done / std::max(1L, total_));
    fmt::print(stderr, "\r{} [{:=<{}}{:<{}}] {}/{}{}  {:.1f}/s  ETA {}  ", label_, "", filled, "",
               kWidth - filled, done, total_, loss_text(loss), rate, clock_text(eta));
    drawn_ = true;
  } else if (every_ > 0 && (done % every_ == 0 || done == total_)) {
    fmt::print(stderr, "{} {}/{}{} ({:.1f}/s, ETA {})\n", label_, done, total_, loss_text(loss),
               rate, clock_text(eta));
  }
  std::fflush(stderr);
}

void Progress::finish() {
  if (terminal_ && drawn_) fmt::print(stderr, "\n");
  std::fflush(stderr);
}

}  // namespace gradscope::cli
