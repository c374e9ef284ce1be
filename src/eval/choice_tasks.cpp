#include "eval/choice_tasks.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "io/csv.h"
#include "pangu/error.h"

namespace pangu {

namespace {

struct ChoiceQuestion {
  std::string id;
  std::string question;
  std::vector<std::string> options;
  std::string answer;
};

// How one benchmark lays out its files and prompts.
struct ChoiceLayout {
  std::string task;
  std::string test_split;  // the split scored: MMLU test, C-Eval val (its test answers are not public)
  bool header;             // C-Eval's CSVs have one; MMLU's do not
  std::string preamble;    // {subject} is replaced
  std::string answer_prefix;
  std::string lead;        // between the prefix and the letter
  SubjectInfo (*subject_info)(const std::string&);
};

class ChoiceTask : public EvalTask {
 public:
  explicit ChoiceTask(ChoiceLayout layout) : layout_(std::move(layout)) {}
  std::string name() const override { return layout_.task; }
  TaskKind kind() const override { return TaskKind::kChoice; }
  int default_shots() const override { return 5; }
  std::string choice_lead() const override { return layout_.lead; }
  SubjectInfo subject_info(const std::string& subject) const override { return layout_.subject_info(subject); }

  std::vector<EvalSample> load(const std::string& data_dir, const TaskSelection& selection) override {
    const std::string root = data_dir + "/" + layout_.task;
    const std::string test_dir = root + "/" + layout_.test_split;
    PANGU_CHECK(std::filesystem::is_directory(test_dir), "{}: no such directory (expected one CSV per subject)",
                test_dir);
    const std::string suffix = "_" + layout_.test_split + ".csv";
    std::vector<std::string> subjects;
    for (const auto& entry : std::filesystem::directory_iterator(test_dir)) {
      const std::string file = entry.path().filename().string();
      if (file.size() > suffix.size() && file.ends_with(suffix))
        subjects.push_back(file.substr(0, file.size() - suffix.size()));
    }
    std::sort(subjects.begin(), subjects.end());
    PANGU_CHECK(!subjects.empty(), "{}: no *{} files", test_dir, suffix);
    for (const auto& wanted : selection.subjects)
      PANGU_CHECK(std::find(subjects.begin(), subjects.end(), wanted) != subjects.end(),
                  "{}: unknown subject \"{}\" (no {}{} there)", layout_.task, wanted, wanted, suffix);

    shots_.clear();
    std::vector<EvalSample> samples;
    for (const auto& subject : subjects) {
      if (!selection.subjects.empty() &&
          std::find(selection.subjects.begin(), selection.subjects.end(), subject) == selection.subjects.end())
        continue;
      const std::string dev_path = root + "/dev/" + subject + "_dev.csv";
      shots_[subject] = std::filesystem::exists(dev_path) ? read_questions(dev_path) : std::vector<ChoiceQuestion>{};
      int64_t taken = 0;
      for (auto& q : read_questions(test_dir + "/" + subject + suffix)) {
        if (selection.limit > 0 && taken >= selection.limit) break;
        ++taken;
        EvalSample s;
        s.id = subject + "/" + q.id;
        s.subject = subject;
        s.question = std::move(q.question);
        s.options = std::move(q.options);
        s.reference = std::move(q.answer);
        samples.push_back(std::move(s));
      }
    }
    return samples;
  }

  FewShotPrompt prompt(const EvalSample& sample, int shots) const override {
    FewShotPrompt p;
    std::string preamble = layout_.preamble;
    const size_t at = preamble.find("{subject}");
    if (at != std::string::npos) preamble.replace(at, 9, layout_.subject_info(sample.subject).display);
    p.preamble = preamble;
    const auto it = shots_.find(sample.subject);
    if (it != shots_.end())
      for (int i = 0; i < shots && i < static_cast<int>(it->second.size()); ++i) {
        const ChoiceQuestion& q = it->second[static_cast<size_t>(i)];
        p.shots.push_back({body(q.question, q.options), layout_.answer_prefix + layout_.lead + q.answer});
      }
    p.question = body(sample.question, sample.options);
    p.answer_prefix = layout_.answer_prefix;
    return p;
  }

  Json describe_format() const override {
    const std::string body_format = "{question}\\nA. {A}\\nB. {B}\\nC. {C}\\nD. {D}\\n";
    return {{"preamble", layout_.preamble},
            {"shot", body_format + layout_.answer_prefix + layout_.lead + "{answer}"},
            {"separator", "\\n\\n"},
            {"question", body_format + layout_.answer_prefix},
            {"choices", {layout_.lead + "A", layout_.lead + "B", layout_.lead + "C", layout_.lead + "D"}},
            {"shots_from", layout_.task + "/dev/{subject}_dev.csv, in file order"},
            {"scored_split", layout_.test_split},
            {"scoring", "argmax of the log-probability of each choice's tokens after the prompt"}};
  }

 private:
  static std::string body(const std::string& question, const std::vector<std::string>& options) {
    std::string s = question + "\n";
    for (size_t i = 0; i < options.size(); ++i) s += fmt::format("{}. {}\n", static_cast<char>('A' + i), options[i]);
    return s;
  }

  std::vector<ChoiceQuestion> read_questions(const std::string& path) const {
    const auto rows = parse_csv(read_text_file(path, "data file"), path);
    std::vector<ChoiceQuestion> out;
    size_t first = 0;
    size_t col = 0;  // the question's column
    if (layout_.header) {
      PANGU_CHECK(!rows.empty(), "{}: empty file (expected a header: id,question,A,B,C,D,answer)", path);
      const auto& h = rows[0];
      PANGU_CHECK(h.size() >= 7 && h[1] == "question" && h[2] == "A" && h[6] == "answer",
                  "{}: header should start id,question,A,B,C,D,answer; found {} columns starting \"{}\"", path,
                  h.size(), h.empty() ? "" : h[0]);
      first = 1;
      col = 1;
    }
    for (size_t r = first; r < rows.size(); ++r) {
      const auto& row = rows[r];
      if (row.size() == 1 && row[0].empty()) continue;  // a blank line
      PANGU_CHECK(row.size() >= col + 6, "{}: row {} has {} columns, expected at least {}", path, r + 1,
                  row.size(), col + 6);
      ChoiceQuestion q;
      q.id = layout_.header ? row[0] : std::to_string(r);
      q.question = row[col];
      q.options.assign(row.begin() + static_cast<std::ptrdiff_t>(col + 1), row.begin() + static_cast<std::ptrdiff_t>(col + 5));
      q.answer = row[col + 5];
      PANGU_CHECK(q.answer.size() == 1 && q.answer[0] >= 'A' && q.answer[0] <= 'D',
                  "{}: row {} has answer \"{}\", expected one of A, B, C, D", path, r + 1, q.answer);
      out.push_back(std::move(q));
    }
    return out;
  }

  ChoiceLayout layout_;
  std::map<std::string, std::vector<ChoiceQuestion>> shots_;
};

}  // namespace

std::unique_ptr<EvalTask> make_mmlu_task() {
  return std::make_unique<ChoiceTask>(ChoiceLayout{
      "mmlu", "test", false, "The following are multiple choice questions (with answers) about {subject}.\n\n",
      "Answer:", " ", mmlu_subject});
}

std::unique_ptr<EvalTask> make_ceval_task() {
  return std::make_unique<ChoiceTask>(ChoiceLayout{
      "ceval", "val", true, "以下是中国关于{subject}考试的单项选择题，请选出其中的正确答案。\n\n", "答案：", "",
      ceval_subject});
}

}  // namespace pangu
