#include "eval/results.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "pangu/error.h"

namespace pangu {

namespace {

struct Tally {
  int64_t n = 0;
  int64_t correct = 0;
  double accuracy() const { return n ? static_cast<double>(correct) / static_cast<double>(n) : 0.0; }
};

bool record_correct(const Json& r) { return r.value("correct", false); }

}  // namespace

std::vector<Json> parse_sample_records(const std::string& text, const std::string& origin, size_t* complete_bytes) {
  std::vector<Json> records;
  size_t complete = 0;
  for_each_jsonl_record(
      text, origin,
      [&](Json& record, int64_t line) {
        PANGU_CHECK(record.is_object() && record.contains("id") && record["id"].is_string(),
                    "{}:{}: expected a sample record with a string \"id\"", origin, line);
        records.push_back(std::move(record));
      },
      &complete);
  if (complete_bytes) *complete_bytes = complete;
  return records;
}

SampleLog::SampleLog(std::string path) : path_(std::move(path)) {
  if (std::filesystem::exists(path_)) {
    const std::string text = read_text_file(path_, "results file");
    size_t complete = 0;
    records_ = parse_sample_records(text, path_, &complete);
    if (complete < text.size()) std::filesystem::resize_file(path_, complete);
  }
  for (size_t i = 0; i < records_.size(); ++i) by_id_[records_[i]["id"].get<std::string>()] = i;
  file_ = std::fopen(path_.c_str(), "ab");
  PANGU_CHECK(file_ != nullptr, "{}: cannot open for appending: {}", path_, std::strerror(errno));
}

SampleLog::~SampleLog() {
  if (file_) std::fclose(file_);
}

const Json* SampleLog::find(const std::string& id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &records_[it->second];
}

void SampleLog::append(Json record) {
  const std::string line = record.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  const bool ok = std::fwrite(line.data(), 1, line.size(), file_) == line.size() && std::fflush(file_) == 0;
  PANGU_CHECK(ok, "{}: cannot write a result: {}", path_, std::strerror(errno));
  fdatasync(fileno(file_));
  by_id_[record["id"].get<std::string>()] = records_.size();
  records_.push_back(std::move(record));
}

std::vector<Json> read_sample_records(const std::string& path) {
  return parse_sample_records(read_text_file(path, "results file"), path);
}

Json summarize_task(const EvalTask& task, const std::vector<Json>& records) {
  Tally all;
  std::map<std::string, Tally> subjects;
  int64_t prompt_tokens = 0, output_tokens = 0, reused_tokens = 0;
  double seconds = 0;
  for (const Json& r : records) {
    const bool ok = record_correct(r);
    all.n++;
    all.correct += ok;
    const std::string subject = r.value("subject", "");
    if (!subject.empty()) {
      subjects[subject].n++;
      subjects[subject].correct += ok;
    }
    prompt_tokens += r.value("prompt_tokens", int64_t{0});
    output_tokens += r.value("output_tokens", int64_t{0});
    reused_tokens += r.value("reused_tokens", int64_t{0});
    seconds += r.value("seconds", 0.0);
  }
  Json s = {{"task", task.name()},     {"n", all.n},
            {"correct", all.correct},  {"accuracy", all.accuracy()},
            {"prompt_tokens", prompt_tokens}, {"reused_prompt_tokens", reused_tokens},
            {"output_tokens", output_tokens},
            {"seconds", seconds}};
  if (!subjects.empty()) {
    std::map<std::string, std::vector<double>> category_accuracies;
    std::map<std::string, Tally> categories;
    Json per_subject = Json::object();
    double macro = 0;
    for (const auto& [name, t] : subjects) {
      const SubjectInfo info = task.subject_info(name);
      per_subject[name] = {{"n", t.n}, {"correct", t.correct}, {"accuracy", t.accuracy()},
                           {"display", info.display}, {"category", info.category}};
      macro += t.accuracy();
      category_accuracies[info.category].push_back(t.accuracy());
      categories[info.category].n += t.n;
      categories[info.category].correct += t.correct;
    }
    Json per_category = Json::object();
    for (const auto& [name, t] : categories) {
      const auto& accs = category_accuracies[name];
      double mean = 0;
      for (double a : accs) mean += a;
      per_category[name] = {{"n", t.n}, {"subjects", accs.size()}, {"micro_accuracy", t.accuracy()},
                            {"macro_accuracy", mean / static_cast<double>(accs.size())}};
    }
    s["macro_accuracy"] = macro / static_cast<double>(subjects.size());
    s["micro_accuracy"] = all.accuracy();
    s["categories"] = per_category;
    s["subjects"] = per_subject;
  }
  return s;
}

std::string summary_table(const Json& summary, bool per_subject) {
  std::string out = fmt::format("| task | samples | correct | accuracy |\n|---|---:|---:|---:|\n");
  out += fmt::format("| {} | {} | {} | {:.2f}% |\n", summary["task"].get<std::string>(), summary["n"].get<int64_t>(),
                     summary["correct"].get<int64_t>(), 100 * summary["accuracy"].get<double>());
  if (summary.contains("categories")) {
    out += fmt::format("\n| {} category | samples | subjects | macro | micro |\n|---|---:|---:|---:|---:|\n",
                       summary["task"].get<std::string>());
    for (const auto& [name, c] : summary["categories"].items())
      out += fmt::format("| {} | {} | {} | {:.2f}% | {:.2f}% |\n", name, c["n"].get<int64_t>(),
                         c["subjects"].get<int64_t>(), 100 * c["macro_accuracy"].get<double>(),
                         100 * c["micro_accuracy"].get<double>());
    out += fmt::format("| all | {} | {} | {:.2f}% | {:.2f}% |\n", summary["n"].get<int64_t>(),
                       summary["subjects"].size(), 100 * summary["macro_accuracy"].get<double>(),
                       100 * summary["micro_accuracy"].get<double>());
    if (per_subject) {
      out += "\n| subject | category | samples | accuracy |\n|---|---|---:|---:|\n";
      for (const auto& [name, t] : summary["subjects"].items())
        out += fmt::format("| {} | {} | {} | {:.2f}% |\n", name, t["category"].get<std::string>(),
                           t["n"].get<int64_t>(), 100 * t["accuracy"].get<double>());
    }
  }
  return out;
}

std::string compare_runs(const std::string& dir_a, const std::string& dir_b) {
  for (const auto& dir : {dir_a, dir_b})
    PANGU_CHECK(std::filesystem::is_directory(dir), "{}: not a results directory (expected <task>.jsonl files)", dir);
  std::vector<std::string> tasks;
  for (const auto& entry : std::filesystem::directory_iterator(dir_a)) {
    const std::string file = entry.path().filename().string();
    if (file.ends_with(".jsonl") && std::filesystem::exists(dir_b + "/" + file))
      tasks.push_back(file.substr(0, file.size() - 6));
  }
  std::sort(tasks.begin(), tasks.end());
  PANGU_CHECK(!tasks.empty(), "{} and {} share no task (no <task>.jsonl in both)", dir_a, dir_b);

  std::string out = fmt::format("A = {}\nB = {}\n\n", dir_a, dir_b);
  out += "| task | subject | samples | A | B | B - A | A right, B wrong | A wrong, B right | same output |\n"
         "|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& task : tasks) {
    std::map<std::string, const Json*> b_by_id;
    const auto a_records = read_sample_records(dir_a + "/" + task + ".jsonl");
    const auto b_records = read_sample_records(dir_b + "/" + task + ".jsonl");
    for (const Json& r : b_records) b_by_id[r["id"].get<std::string>()] = &r;
    struct Row {
      int64_t n = 0, a = 0, b = 0, lost = 0, gained = 0, same_output = 0;
    };
    Row total;
    std::map<std::string, Row> by_subject;
    int64_t only_a = 0;
    for (const Json& ra : a_records) {
      const auto it = b_by_id.find(ra["id"].get<std::string>());
      if (it == b_by_id.end()) {
        ++only_a;
        continue;
      }
      const bool ca = record_correct(ra), cb = record_correct(*it->second);
      const bool same = ra.value("output", Json()) == it->second->value("output", Json());
      for (Row* row : {&total, &by_subject[ra.value("subject", "")]}) {
        row->n++;
        row->a += ca;
        row->b += cb;
        row->lost += ca && !cb;
        row->gained += !ca && cb;
        row->same_output += same;
      }
    }
    auto line = [&out, &task](const std::string& subject, const Row& r) {
      const double a = r.n ? 100.0 * static_cast<double>(r.a) / static_cast<double>(r.n) : 0.0;
      const double b = r.n ? 100.0 * static_cast<double>(r.b) / static_cast<double>(r.n) : 0.0;
      out += fmt::format("| {} | {} | {} | {:.2f}% | {:.2f}% | {:+.2f} | {} | {} | {} |\n", task, subject, r.n, a,
                         b, b - a, r.lost, r.gained, r.same_output);
    };
    line("(all)", total);
    if (by_subject.size() > 1 || (by_subject.size() == 1 && !by_subject.begin()->first.empty()))
      for (const auto& [subject, row] : by_subject) line(subject, row);
    const int64_t only_b = static_cast<int64_t>(b_records.size()) - total.n;
    if (only_a || only_b)
      out += fmt::format("| {} | ({} samples only in A, {} only in B: not compared) | | | | | | | |\n", task, only_a,
                         only_b);
  }
  return out;
}

}  // namespace pangu
