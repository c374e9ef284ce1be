// Errors carry context: the file, tensor or field, what was expected and what was found.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace pangu {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace pangu

// PANGU_CHECK(cond, "fmt", args...) throws pangu::Error with the formatted message when cond is false.
#define PANGU_CHECK(cond, ...)    \
  do {                            \
    if (!(cond)) {                \
      ::pangu::fail(__VA_ARGS__); \
    }                             \
  } while (0)
