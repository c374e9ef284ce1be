// Output directories that appear complete or not at all: written under OUT.tmp, renamed into place.
#pragma once

#include <fstream>
#include <string>

namespace pangu {

class StagedDir {
 public:
  // Refuses an existing `out` unless `force`; clears a stale OUT.tmp left by an interrupted run.
  StagedDir(std::string out, bool force);
  ~StagedDir();  // removes the temporary directory unless committed
  StagedDir(const StagedDir&) = delete;
  StagedDir& operator=(const StagedDir&) = delete;

  const std::string& path() const { return tmp_; }  // write here
  std::string file(const std::string& name) const { return tmp_ + "/" + name; }
  void commit();  // replaces `out` with the finished directory

 private:
  std::string out_;
  std::string tmp_;
  bool committed_ = false;
};

// A file that appears complete or not at all: written as PATH.tmp.PID beside it, renamed into place by
// commit(), removed if the writer fails first.
class StagedFile {
 public:
  explicit StagedFile(std::string path);
  ~StagedFile();
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;

  std::ofstream& out() { return out_; }
  // Fails naming `what` when a write has failed (a full disk shows up here).
  void check(const std::string& what);
  void commit();

 private:
  std::string path_;
  std::string tmp_;
  std::ofstream out_;
  bool committed_ = false;
};

// Copies the files a model directory carries besides weights and config.json (tokenizer, generation
// config, chat template, licence, remote code) from src into dst.
void copy_model_side_files(const std::string& src_dir, const std::string& dst_dir);

}  // namespace pangu
