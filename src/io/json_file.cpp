#include "io/json_file.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/staged_dir.h"

namespace pangu {

Json parse_json_text(const std::string& text, const std::string& origin) {
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    fail("{}: invalid JSON at byte {}: {}", origin, e.byte, e.what());
  } catch (const nlohmann::json::exception& e) {  // e.g. a number too large for any type
    fail("{}: invalid JSON: {}", origin, e.what());
  }
}

std::string read_text_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open {}", path, what);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Json read_json_file(const std::string& path) {
  return parse_json_text(read_text_file(path), path);
}

void check_output_path(const std::string& path, const char* flag) {
  const std::string probe = path + ".tmp." + std::to_string(::getpid());
  std::FILE* f = std::fopen(probe.c_str(), "wb");
  if (!f) fail("{} {}: cannot write there ({})", flag, path, std::strerror(errno));
  std::fclose(f);
  std::remove(probe.c_str());
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail("{} {}: is a directory; expected a file name", flag, path);
}

void write_text_file_atomic(const std::string& path, const std::string& text) {
  StagedFile file(path);
  file.out() << text;
  file.check("the text");
  file.commit();
}

}  // namespace pangu

namespace pangu {

void for_each_jsonl_record(const std::string& text, const std::string& origin,
                           const std::function<void(Json& record, int64_t line)>& fn, size_t* complete_bytes) {
  size_t start = 0;
  int64_t line = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      if (complete_bytes) break;  // torn: written without its newline
      end = text.size();
    }
    ++line;
    const std::string row = text.substr(start, end - start);
    start = end + 1;
    if (row.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json record = parse_json_text(row, fmt::format("{}:{}", origin, line));
    fn(record, line);
  }
  if (complete_bytes) *complete_bytes = std::min(start, text.size());
}

}  // namespace pangu
