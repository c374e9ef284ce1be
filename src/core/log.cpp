#include "core/log.h"

#include <unistd.h>

#include <algorithm>

namespace pangu {

namespace {
LogLevel g_level = LogLevel::kInfo;
}

LogLevel log_level() {
  return g_level;
}
void set_log_level(LogLevel level) {
  g_level = level;
}

Progress::Progress(std::string label, size_t total)
    : label_(std::move(label)),
      total_(std::max<size_t>(total, 1)),
      nothing_to_do_(total == 0),
      terminal_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() {
  finish();
}

void Progress::advance(size_t n) {
  done_ = std::min(total_, done_ + n);
  draw(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  done_ = total_;
  draw(true);
}

void Progress::draw(bool final) {
  if (log_level() == LogLevel::kQuiet || nothing_to_do_) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double fraction = static_cast<double>(done_) / static_cast<double>(total_);
  const double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0;
  const int percent = static_cast<int>(fraction * 100);
  if (terminal_) {
    if (!final && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    const int width = 30;
    const int filled = static_cast<int>(fraction * width);
    fmt::print(stderr, "\r{} [{}{}] {:3d}% {}/{} {:.0f}s elapsed, ETA {:.0f}s{}", label_,
               std::string(filled, '#'), std::string(width - filled, '.'), percent, done_, total_, elapsed,
               eta, final ? "\n" : "");
  } else if ((final && last_percent_logged_ < 100) || percent / 10 > last_percent_logged_ / 10) {
    last_percent_logged_ = percent;
    fmt::print(stderr, "{}: {}% ({}/{}) {:.1f}s elapsed, ETA {:.0f}s\n", label_, percent, done_, total_,
               elapsed, eta);
  }
}

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 4) {
    bytes /= 1024.0;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.2f} {}", bytes, units[u]);
}

std::string format_count(double count) {
  if (count >= 1e9) return fmt::format("{:.3f} B", count / 1e9);
  if (count >= 1e6) return fmt::format("{:.1f} M", count / 1e6);
  if (count >= 1e3) return fmt::format("{:.1f} K", count / 1e3);
  return fmt::format("{:.0f}", count);
}

}  // namespace pangu
