// JSON files with errors that name the file and the field.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <type_traits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "pangu/error.h"

namespace pangu {

using Json = nlohmann::json;

std::string read_text_file(const std::string& path, const char* what = "file");  // throws naming path
Json read_json_file(const std::string& path);  // throws naming path and parse position
Json parse_json_text(const std::string& text, const std::string& origin);
void write_text_file_atomic(const std::string& path, const std::string& text);  // temp file + rename
// Fails now, naming `flag` and path, when write_text_file_atomic(path) could not succeed later (a missing
// or read-only directory): a long run must not end by losing its output.
void check_output_path(const std::string& path, const char* flag);

// Calls fn(record, line) for every non-blank line of JSONL text; a line that is not JSON is an error naming
// origin:line. With complete_bytes, a last line without its newline (a torn write) is left unparsed and
// *complete_bytes gets the offset where the last complete line ends.
void for_each_jsonl_record(const std::string& text, const std::string& origin,
                           const std::function<void(Json& record, int64_t line)>& fn,
                           size_t* complete_bytes = nullptr);

// A JSON value as T. Integers are range-checked first: nlohmann converts 1e300 or -1 to an integer type
// without a word (undefined behaviour for a float out of range), and a file must not get that far.
template <typename T>
T json_value_as(const Json& v, const char* key, const std::string& origin) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // Whole-number bounds as doubles; the upper one exclusive (2^63 or 2^64 are not representable in T).
    constexpr double lo = static_cast<double>(std::numeric_limits<T>::min());
    constexpr double hi = static_cast<double>(std::numeric_limits<T>::max()) + 1.0;
    bool ok = false;
    if (v.is_number_unsigned()) {
      ok = static_cast<double>(v.get<uint64_t>()) < hi && v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    } else if (v.is_number_integer()) {
      const int64_t x = v.get<int64_t>();
      ok = std::is_signed_v<T> ? (x >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                                  static_cast<double>(x) < hi)
                               : x >= 0 && static_cast<double>(x) < hi;
    } else if (v.is_number_float()) {
      const double x = v.get<double>();
      ok = std::isfinite(x) && x == std::floor(x) && x >= lo && x < hi;
      if (ok) return static_cast<T>(x);
    } else {
      fail("{}: field \"{}\" has the wrong type (found {})", origin, key, v.type_name());
    }
    if (!ok) fail("{}: field \"{}\" is {}, not a whole number in range [{}, {}]", origin, key, v.dump(),
                  std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  }
  try {
    return v.get<T>();
  } catch (const nlohmann::json::exception&) {
    fail("{}: field \"{}\" has the wrong type (found {})", origin, key, v.type_name());
  }
}

// Field access: a missing field or a wrong type is an error naming the file and the key.
template <typename T>
T json_required(const Json& object, const char* key, const std::string& origin) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) fail("{}: missing field \"{}\"", origin, key);
  return json_value_as<T>(*it, key, origin);
}

template <typename T>
T json_optional(const Json& object, const char* key, T fallback, const std::string& origin) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  return json_value_as<T>(*it, key, origin);
}

}  // namespace pangu
