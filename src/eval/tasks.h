// The benchmarks `pangu eval` knows: where their data lives, how a sample becomes a few-shot prompt, and
// how an output is scored. The prompts follow the papers and OpenCompass (docs/eval.md lists every
// difference), and each task describes its own format so results record exactly what was asked.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "eval/sandbox.h"
#include "eval/subjects.h"
#include "io/json_file.h"
#include "pangu/chat.h"

namespace pangu {

struct Exchange {
  std::string user;
  std::string assistant;
};

// A few-shot prompt in parts, so that it can be laid out as plain text (base models) or as chat turns.
// Plain: preamble + (user + assistant + separator) per shot + question + answer_prefix.
// Chat: the shots become user/assistant turns (the preamble opens the first user turn), the question is the
// last user turn, and the assistant's reply starts with answer_prefix.
struct FewShotPrompt {
  std::string preamble;
  std::vector<Exchange> shots;
  std::string separator = "\n\n";
  std::string question;
  std::string answer_prefix;
};
std::string render_plain(const FewShotPrompt& prompt);
std::string render_chat_prompt(const FewShotPrompt& prompt, ChatTemplate chat_template);

enum class TaskKind { kGenerate, kChoice };

struct EvalSample {
  std::string id;        // stable across runs: "test/17", "task/11", "anatomy/3"
  std::string subject;   // MMLU / C-Eval subject file name, else empty
  std::string question;  // the record's question text (for the results file)
  std::string reference; // the expected number or letter; MBPP: empty (the tests decide)
  std::vector<std::string> tests;  // MBPP asserts
  std::string test_setup;          // MBPP test_setup_code
  std::vector<std::string> options;  // A-D texts of a multiple-choice question
};

struct TaskSelection {
  int64_t limit = 0;                  // samples (MMLU/C-Eval: per subject); 0 = all
  std::vector<std::string> subjects;  // MMLU/C-Eval: only these (file names); empty = all
};

class EvalTask {
 public:
  virtual ~EvalTask() = default;
  virtual std::string name() const = 0;
  virtual TaskKind kind() const = 0;
  virtual int default_shots() const = 0;
  // Reads the test samples (and the shots' source) under data_dir; errors name the file and line.
  virtual std::vector<EvalSample> load(const std::string& data_dir, const TaskSelection& selection) = 0;
  // The prompt of `sample` with its first `shots` examples (fewer when fewer exist).
  virtual FewShotPrompt prompt(const EvalSample& sample, int shots) const = 0;
  // The templates and sources, recorded with the results.
  virtual Json describe_format() const = 0;
  virtual SubjectInfo subject_info(const std::string& subject) const { return {subject, ""}; }

  // Generation tasks.
  virtual int64_t default_max_tokens() const { return 256; }
  virtual std::vector<std::string> stop_strings() const { return {}; }
  // Fills "extracted" and "correct" (and whatever else explains the verdict) into `record`.
  virtual void score_output(const EvalSample& sample, const std::string& output, const SandboxLimits& sandbox,
                            Json& record) const {}

  // Multiple-choice tasks: the letters, and what comes between the answer prefix and a letter.
  virtual std::vector<std::string> choices() const { return {"A", "B", "C", "D"}; }
  virtual std::string choice_lead() const { return ""; }
};

// gsm8k | mbpp | mmlu | ceval; throws naming the known tasks otherwise.
std::unique_ptr<EvalTask> make_task(const std::string& name);
std::vector<std::string> known_tasks();

}  // namespace pangu
