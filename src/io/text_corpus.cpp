#include "io/text_corpus.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "io/csv.h"
#include "io/json_file.h"
#include "pangu/error.h"

namespace pangu {

namespace fs = std::filesystem;

namespace {

// Every string in a JSON value, depth first, in document order (e.g. Spec-Bench's "turns" list).
void collect_strings(const Json& value, std::string& out) {
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (s.empty()) return;
    if (!out.empty()) out += "\n";
    out += s;
  } else if (value.is_array() || value.is_object()) {
    for (const auto& item : value) collect_strings(item, out);
  }
}

bool has_extension(const fs::path& p, const char* ext) {
  return p.extension() == ext;
}

}  // namespace

std::vector<std::string> read_corpus_documents(const std::string& path) {
  const std::string text = read_text_file(path, "text file");
  std::vector<std::string> docs;
  if (has_extension(path, ".jsonl")) {
    for_each_jsonl_record(text, path, [&docs](Json& record, int64_t) {
      std::string doc;
      collect_strings(record, doc);
      if (!doc.empty()) docs.push_back(std::move(doc));
    });
  } else if (has_extension(path, ".csv")) {
    for (const CsvRow& row : parse_csv(text, path)) {
      std::string doc;
      for (const auto& cell : row) {
        if (cell.empty()) continue;
        if (!doc.empty()) doc += " ";
        doc += cell;
      }
      if (!doc.empty()) docs.push_back(std::move(doc));
    }
  } else if (!text.empty()) {
    docs.push_back(text);
  }
  return docs;
}

std::string read_text_corpus(const std::vector<std::string>& paths) {
  std::string out;
  for (const std::string& path : paths) {
    std::vector<std::string> files;
    if (fs::is_directory(path)) {
      for (const auto& entry : fs::directory_iterator(path))
        if (entry.is_regular_file()) files.push_back(entry.path().string());
      std::sort(files.begin(), files.end());
      if (files.empty()) fail("{}: directory has no files", path);
    } else {
      files.push_back(path);
    }
    for (const auto& file : files)
      for (auto& doc : read_corpus_documents(file)) {
        if (!out.empty()) out += "\n\n";
        out += doc;
      }
  }
  return out;
}

}  // namespace pangu
