// Diagnostics go to stderr (stdout carries only generated text). Progress: a bar with ETA on a
// terminal, plain lines when stderr is a log file.
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace pangu {

enum class LogLevel { kQuiet = 0, kInfo = 1, kVerbose = 2 };

LogLevel log_level();
void set_log_level(LogLevel level);

template <typename... Args>
void log_info(fmt::format_string<Args...> format, Args&&... args) {
  if (log_level() >= LogLevel::kInfo)
    fmt::print(stderr, "{}\n", fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
void log_verbose(fmt::format_string<Args...> format, Args&&... args) {
  if (log_level() >= LogLevel::kVerbose)
    fmt::print(stderr, "{}\n", fmt::format(format, std::forward<Args>(args)...));
}

// "1.30 GiB", "384.4 KiB", "517 B": sizes in the unit that reads best.
std::string format_bytes(double bytes);
// "1.156 B", "260.0 K", "12.4 M": parameter counts.
std::string format_count(double count);

class Progress {
 public:
  // A total of 0 draws nothing.
  Progress(std::string label, size_t total);
  ~Progress();
  void advance(size_t n = 1);
  void finish();

 private:
  void draw(bool final);
  std::string label_;
  size_t total_;
  bool nothing_to_do_;  // a total of 0 draws nothing (a resumed job with no work left)
  size_t done_ = 0;
  bool terminal_;
  bool finished_ = false;
  int last_percent_logged_ = -1;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace pangu
