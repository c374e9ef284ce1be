// The generation tasks (GSM8K, MBPP), the prompt layouts and the task table.
#include "eval/tasks.h"

#include <fmt/format.h>

#include <algorithm>
#include <regex>

#include "eval/answers.h"
#include "eval/choice_tasks.h"
#include "pangu/error.h"

namespace pangu {

namespace {

std::string trim_right(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

// The records of a JSONL data file, each with its line number in "__line" for later errors.
std::vector<Json> read_jsonl(const std::string& path) {
  std::vector<Json> records;
  for_each_jsonl_record(read_text_file(path, "data file"), path, [&](Json& record, int64_t line) {
    PANGU_CHECK(record.is_object(), "{}:{}: expected a JSON object per line, found {}", path, line,
                record.type_name());
    record["__line"] = line;
    records.push_back(std::move(record));
  });
  return records;
}

std::string origin_of(const std::string& path, const Json& record) {
  return fmt::format("{}:{}", path, record.value("__line", int64_t{0}));
}

// ---------------------------------------------------------------------------------------------------------
// GSM8K: chain-of-thought shots from the training set, the final number compared with the reference.

class Gsm8kTask : public EvalTask {
 public:
  std::string name() const override { return "gsm8k"; }
  TaskKind kind() const override { return TaskKind::kGenerate; }
  int default_shots() const override { return 8; }
  int64_t default_max_tokens() const override { return 256; }
  std::vector<std::string> stop_strings() const override { return {"Question:", "</s>", "<|im_end|>"}; }

  std::vector<EvalSample> load(const std::string& data_dir, const TaskSelection& selection) override {
    const std::string train_path = data_dir + "/gsm8k/train.jsonl";
    const std::string test_path = data_dir + "/gsm8k/test.jsonl";
    shots_.clear();
    for (const Json& r : read_jsonl(train_path)) {
      if (shots_.size() >= 16) break;
      const std::string origin = origin_of(train_path, r);
      const auto question = json_required<std::string>(r, "question", origin);
      const auto answer = json_required<std::string>(r, "answer", origin);
      const auto number = gsm8k_reference_answer(answer);
      PANGU_CHECK(number.has_value(), "{}: the answer has no \"#### N\" line", origin);
      shots_.push_back({question, chain_of_thought(answer, *number)});
    }
    std::vector<EvalSample> samples;
    int64_t index = 0;
    for (const Json& r : read_jsonl(test_path)) {
      if (selection.limit > 0 && static_cast<int64_t>(samples.size()) >= selection.limit) break;
      const std::string origin = origin_of(test_path, r);
      EvalSample s;
      s.id = fmt::format("test/{}", index++);
      s.question = json_required<std::string>(r, "question", origin);
      const auto number = gsm8k_reference_answer(json_required<std::string>(r, "answer", origin));
      PANGU_CHECK(number.has_value(), "{}: the answer has no \"#### N\" line", origin);
      s.reference = *number;
      samples.push_back(std::move(s));
    }
    return samples;
  }

  FewShotPrompt prompt(const EvalSample& sample, int shots) const override {
    FewShotPrompt p;
    for (int i = 0; i < shots && i < static_cast<int>(shots_.size()); ++i)
      p.shots.push_back({"Question: " + shots_[i].question + "\n", "Answer: " + shots_[i].answer});
    p.question = "Question: " + sample.question + "\n";
    p.answer_prefix = "Answer:";
    return p;
  }

  Json describe_format() const override {
    return {{"shot", "Question: {question}\\nAnswer: {reasoning}\\nThe answer is {number}."},
            {"separator", "\\n\\n"},
            {"question", "Question: {question}\\nAnswer:"},
            {"shots_from", "gsm8k/train.jsonl, first records; <<calculator>> annotations removed"},
            {"stop", stop_strings()},
            {"extraction", "first number after the last 'The answer is', else after '####', else the last number"}};
  }

  void score_output(const EvalSample& sample, const std::string& output, const SandboxLimits&,
                    Json& record) const override {
    const auto answer = extract_gsm8k_answer(output);
    record["extracted"] = answer ? Json(*answer) : Json(nullptr);
    record["correct"] = answer.has_value() && numbers_match(*answer, sample.reference);
  }

 private:
  // "A = <<2*3=6>>6 apples.\n#### 6" -> "A = 6 apples.\nThe answer is 6."
  static std::string chain_of_thought(const std::string& answer, const std::string& number) {
    std::string reasoning = answer.substr(0, answer.rfind("####"));
    static const std::regex calculator("<<[^>]*>>");
    reasoning = trim_right(std::regex_replace(reasoning, calculator, ""));
    return reasoning + "\nThe answer is " + number + ".";
  }
  struct Shot {
    std::string question, answer;
  };
  std::vector<Shot> shots_;
};

// ---------------------------------------------------------------------------------------------------------
// MBPP: the original paper's prompt (task, three asserts) with OpenCompass's [BEGIN]/[DONE] markers; the
// extracted code runs against the asserts in the sandbox.

class MbppTask : public EvalTask {
 public:
  std::string name() const override { return "mbpp"; }
  TaskKind kind() const override { return TaskKind::kGenerate; }
  int default_shots() const override { return 3; }
  int64_t default_max_tokens() const override { return 512; }
  std::vector<std::string> stop_strings() const override { return {"[DONE]", "</s>", "<|im_end|>"}; }

  std::vector<EvalSample> load(const std::string& data_dir, const TaskSelection& selection) override {
    const std::string path = data_dir + "/mbpp/mbpp.jsonl";
    shots_.clear();
    std::vector<EvalSample> samples;
    std::vector<EvalSample> prompt_split;
    for (const Json& r : read_jsonl(path)) {
      const std::string origin = origin_of(path, r);
      const auto task_id = json_required<int64_t>(r, "task_id", origin);
      EvalSample s;
      s.id = fmt::format("task/{}", task_id);
      s.question = json_required<std::string>(r, "text", origin);
      s.tests = json_required<std::vector<std::string>>(r, "test_list", origin);
      s.test_setup = json_optional<std::string>(r, "test_setup_code", "", origin);
      PANGU_CHECK(!s.tests.empty(), "{}: test_list is empty", origin);
      if (task_id >= 1 && task_id <= 10) {  // the prompt split: 2, 3, 4 first, as in the paper
        shots_.push_back({task_id, s.question, s.tests, json_required<std::string>(r, "code", origin)});
      } else if (task_id >= 11 && task_id <= 510) {
        if (selection.limit <= 0 || static_cast<int64_t>(samples.size()) < selection.limit)
          samples.push_back(std::move(s));
      }
    }
    std::stable_sort(shots_.begin(), shots_.end(), [](const Shot& a, const Shot& b) {
      auto rank = [](int64_t id) { return id >= 2 && id <= 4 ? id - 10 : id; };
      return rank(a.task_id) < rank(b.task_id);
    });
    return samples;
  }

  FewShotPrompt prompt(const EvalSample& sample, int shots) const override {
    FewShotPrompt p;
    p.separator = "";
    for (int i = 0; i < shots && i < static_cast<int>(shots_.size()); ++i)
      p.shots.push_back({task_text(shots_[i].text, shots_[i].tests),
                         "[BEGIN]\n '" + shots_[i].code + "' \n[DONE] \n\n"});
    p.question = task_text(sample.question, sample.tests);
    p.answer_prefix = "[BEGIN]\n";
    return p;
  }

  Json describe_format() const override {
    return {{"shot",
             "You are an expert Python programmer, and here is your task: {text} Your code should pass these "
             "tests:\\n\\n{test_1}\\n{test_2}\\n{test_3}\\n[BEGIN]\\n '{code}' \\n[DONE] \\n\\n"},
            {"question",
             "You are an expert Python programmer, and here is your task: {text} Your code should pass these "
             "tests:\\n\\n{test_1}\\n{test_2}\\n{test_3}\\n[BEGIN]\\n"},
            {"shots_from", "mbpp.jsonl task ids 2, 3, 4 (then 1, 5-10)"},
            {"test_ids", "11-510"},
            {"stop", stop_strings()},
            {"scoring", "code + test_setup_code + asserts run by python3 in the sandbox; pass = exit status 0"}};
  }

  void score_output(const EvalSample& sample, const std::string& output, const SandboxLimits& sandbox,
                    Json& record) const override {
    const std::string code = extract_mbpp_code(output);
    std::string program = code + "\n\n";
    if (!sample.test_setup.empty()) program += sample.test_setup + "\n";
    for (const auto& t : sample.tests) program += t + "\n";
    const SandboxResult run = run_python_sandboxed(program, sandbox);
    record["extracted"] = code;
    record["correct"] = run.status == SandboxStatus::kPassed;
    const std::string err = run.stderr_text;
    record["execution"] = {{"status", sandbox_status_name(run.status)},
                           {"exit_code", run.exit_code},
                           {"signal", run.signal},
                           {"seconds", run.seconds},
                           {"isolation", run.isolation},
                           {"stderr_tail", err.size() > 600 ? err.substr(err.size() - 600) : err}};
  }

 private:
  static std::string task_text(const std::string& text, const std::vector<std::string>& tests) {
    std::string s = "You are an expert Python programmer, and here is your task: " + text +
                    " Your code should pass these tests:\n\n";
    for (const auto& t : tests) s += t + "\n";
    return s;
  }
  struct Shot {
    int64_t task_id;
    std::string text;
    std::vector<std::string> tests;
    std::string code;
  };
  std::vector<Shot> shots_;
};

}  // namespace

std::string render_plain(const FewShotPrompt& prompt) {
  std::string text = prompt.preamble;
  for (const auto& shot : prompt.shots) text += shot.user + shot.assistant + prompt.separator;
  return text + prompt.question + prompt.answer_prefix;
}

std::string render_chat_prompt(const FewShotPrompt& prompt, ChatTemplate chat_template) {
  std::vector<ChatMessage> messages;
  std::string preamble = prompt.preamble;
  for (const auto& shot : prompt.shots) {
    messages.push_back({"user", trim_right(preamble + shot.user)});
    messages.push_back({"assistant", trim_right(shot.assistant)});
    preamble.clear();
  }
  messages.push_back({"user", trim_right(preamble + prompt.question)});
  return render_chat(chat_template, messages, true) + prompt.answer_prefix;
}

std::vector<std::string> known_tasks() { return {"gsm8k", "mbpp", "mmlu", "ceval"}; }

std::unique_ptr<EvalTask> make_task(const std::string& name) {
  if (name == "gsm8k") return std::make_unique<Gsm8kTask>();
  if (name == "mbpp") return std::make_unique<MbppTask>();
  if (name == "mmlu") return make_mmlu_task();
  if (name == "ceval") return make_ceval_task();
  fail("unknown task \"{}\" (known: gsm8k, mbpp, mmlu, ceval)", name);
}

}  // namespace pangu
