// JSON files with errors that name the file and the field.
#pragma once

#include <functional>
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

// Field access: a missing field or a wrong type is an error naming the file and the key.
template <typename T>
T json_required(const Json& object, const char* key, const std::string& origin) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) fail("{}: missing field \"{}\"", origin, key);
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    fail("{}: field \"{}\" has the wrong type (found {})", origin, key, it->type_name());
  }
}

template <typename T>
T json_optional(const Json& object, const char* key, T fallback, const std::string& origin) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    fail("{}: field \"{}\" has the wrong type (found {})", origin, key, it->type_name());
  }
}

}  // namespace pangu
