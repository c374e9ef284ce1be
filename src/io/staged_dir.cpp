#include "io/staged_dir.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "core/log.h"
#include "pangu/error.h"

namespace pangu {

namespace fs = std::filesystem;

StagedDir::StagedDir(std::string out, bool force) : out_(std::move(out)), tmp_(out_ + ".tmp") {
  std::error_code ec;
  if (fs::exists(tmp_, ec)) {
    // Only an interrupted run of ours leaves OUT.tmp behind; it is never a finished output.
    const uintmax_t removed = fs::remove_all(tmp_, ec);
    if (ec) fail("{}: cannot remove the unfinished output of an interrupted run: {}", tmp_, ec.message());
    log_info("removed {} ({} files), the unfinished output of an interrupted run", tmp_, removed);
  }
  if (fs::exists(out_) && !force) fail("{}: already exists (use --force to replace it)", out_);
  fs::create_directories(tmp_, ec);
  if (ec) fail("{}: cannot create directory: {}", tmp_, ec.message());
}

StagedFile::StagedFile(std::string path)
    : path_(std::move(path)), tmp_(path_ + ".tmp." + std::to_string(::getpid())) {
  out_.open(tmp_, std::ios::binary | std::ios::trunc);
  if (!out_) fail("{}: cannot create", tmp_);
}

StagedFile::~StagedFile() {
  if (committed_) return;
  out_.close();
  std::remove(tmp_.c_str());
}

void StagedFile::check(const std::string& what) {
  if (!out_) fail("{}: write failed at {} (disk full?)", tmp_, what);
}

void StagedFile::commit() {
  out_.close();
  if (!out_) fail("{}: write failed when closing (disk full?)", tmp_);
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) fail("{}: cannot rename {} into place", path_, tmp_);
  committed_ = true;
}

StagedDir::~StagedDir() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(tmp_, ec);
}

void StagedDir::commit() {
  std::error_code ec;
  if (fs::exists(out_)) fs::remove_all(out_, ec);
  if (ec) fail("{}: cannot replace: {}", out_, ec.message());
  fs::rename(tmp_, out_, ec);
  if (ec) fail("{}: cannot rename {} into place: {}", out_, tmp_, ec.message());
  committed_ = true;
}

void copy_model_side_files(const std::string& src_dir, const std::string& dst_dir) {
  for (const auto& entry : fs::directory_iterator(src_dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = entry.path().filename().string();
    auto starts = [&](const char* prefix) { return name.rfind(prefix, 0) == 0; };
    auto ends = [&](const char* suffix) {
      const size_t n = std::strlen(suffix);
      return name.size() >= n && name.compare(name.size() - n, n, suffix) == 0;
    };
    // What describes how to use the weights travels; weights, config.json and anything about the source
    // model's numbers (goldens, results) do not.
    const bool side = starts("tokenizer") || starts("special_tokens_map") || starts("added_tokens") ||
                      starts("vocab.") || name == "merges.txt" || starts("chat_template") ||
                      name == "generation_config.json" || starts("LICENSE") || starts("configuration_") ||
                      starts("modeling_") || starts("tokenization_") || ends(".jinja");
    if (!side) continue;
    std::error_code ec;
    fs::copy_file(entry.path(), fs::path(dst_dir) / name, fs::copy_options::overwrite_existing, ec);
    if (ec) fail("{}: cannot copy to {}: {}", entry.path().string(), dst_dir, ec.message());
  }
}

}  // namespace pangu
