// What `pangu eval` writes and reads back: one JSON line per sample (appended and flushed as each finishes,
// so a run that is killed resumes where it stopped), a summary per task, and the comparison of two runs.
#pragma once

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "eval/tasks.h"
#include "io/json_file.h"

namespace pangu {

// <dir>/<task>.jsonl. Opening reads what an earlier run wrote; a torn last line (the process died while
// writing it) is cut off, so the sample is simply evaluated again.
class SampleLog {
 public:
  explicit SampleLog(std::string path);
  ~SampleLog();
  SampleLog(const SampleLog&) = delete;
  SampleLog& operator=(const SampleLog&) = delete;

  const Json* find(const std::string& id) const;
  const std::vector<Json>& records() const { return records_; }
  // Writes the record as one line and flushes it to disk before returning.
  void append(Json record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<Json> records_;
  std::map<std::string, size_t> by_id_;
  std::FILE* file_ = nullptr;
};

// Reads the records of a finished or interrupted run (no repair, no writing).
std::vector<Json> read_sample_records(const std::string& path);
// The complete records of JSONL text; `complete_bytes` (if given) gets where the last complete line ends.
// A line that is not a JSON object with a string "id" is an error naming origin and the line.
std::vector<Json> parse_sample_records(const std::string& text, const std::string& origin,
                                       size_t* complete_bytes = nullptr);

// Accuracy overall, per subject and per category (multiple-choice tasks: macro = mean over subjects,
// micro = over questions), token counts and time, from the records of the samples evaluated.
Json summarize_task(const EvalTask& task, const std::vector<Json>& records);
// A markdown table of a summary; per subject too when asked.
std::string summary_table(const Json& summary, bool per_subject);

// Both runs' records of every task they share, matched by sample id: accuracy of each, the difference,
// how many samples flipped each way and how many produced the same output, per task and per subject.
std::string compare_runs(const std::string& dir_a, const std::string& dir_b);

}  // namespace pangu
