// pangu eval end to end on the real stories260K checkpoint: every task writes its per-sample records,
// summary and run description; a killed run resumes without losing or repeating a sample; --compare reads
// two runs; a resumed run with other settings is refused.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <set>
#include <thread>

#include "test_util.h"

namespace pangu {
namespace {

using test::read_json;
using test::read_text;
using test::run_pangu;
using test::shared;
using test::TempDir;

// The complete lines only: a run still writing may have half a line at the end (a write in progress, or the
// torn line a kill leaves), which is not a record yet.
std::vector<nlohmann::json> read_records(const std::string& path) {
  std::vector<nlohmann::json> records;
  const std::string text = read_text(path);
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
    if (end > start) records.push_back(nlohmann::json::parse(text.substr(start, end - start)));
  return records;
}

std::string eval_args(const std::string& out, const std::string& task, const std::string& extra = "") {
  return "eval -m " + shared("models/stories260K") + " --data " + shared("data") + " --task " + task +
         " --out " + out + " -t 1 " + extra;
}

void expect_complete_run(const std::string& dir, const std::string& task, size_t n) {
  const auto records = read_records(dir + "/" + task + ".jsonl");
  ASSERT_EQ(records.size(), n) << task;
  std::set<std::string> ids;
  for (const auto& r : records) {
    ids.insert(r["id"].get<std::string>());
    for (const char* field : {"prompt", "output", "extracted", "reference", "correct", "prompt_tokens",
                              "output_tokens", "seconds", "shots"})
      EXPECT_TRUE(r.contains(field)) << task << " record " << r["id"] << " lacks " << field;
  }
  EXPECT_EQ(ids.size(), n) << task << ": a sample appears twice";
  const auto summary = read_json(dir + "/" + task + ".summary.json");
  EXPECT_EQ(summary["n"], n);
  EXPECT_EQ(summary["task"], task);
  const auto run = read_json(dir + "/" + task + ".run.json");
  EXPECT_TRUE(run["format"].is_object());
}

TEST(Eval, GenerationTasksEndToEnd) {
  TempDir dir;
  const auto r = run_pangu(eval_args(dir.path(), "gsm8k,mbpp", "--limit 5"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_complete_run(dir.path(), "gsm8k", 5);
  expect_complete_run(dir.path(), "mbpp", 5);
  EXPECT_NE(r.out.find("| gsm8k | 5 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| mbpp | 5 |"), std::string::npos) << r.out;
  // The references come from the data; MBPP ran every program in the sandbox.
  const auto gsm = read_records(dir / "gsm8k.jsonl");
  EXPECT_EQ(gsm[0]["id"], "test/0");
  EXPECT_EQ(gsm[0]["reference"], "18");
  EXPECT_NE(gsm[0]["prompt"].get<std::string>().find("Janet"), std::string::npos);
  for (const auto& rec : read_records(dir / "mbpp.jsonl")) {
    const auto& exec = rec["execution"];
    EXPECT_TRUE(exec["status"] == "passed" || exec["status"] == "failed" || exec["status"] == "timeout") << exec;
    EXPECT_EQ(rec["correct"], exec["status"] == "passed");
  }
  EXPECT_EQ(read_records(dir / "mbpp.jsonl")[0]["id"], "task/11");
}

TEST(Eval, ChoiceTasksEndToEnd) {
  TempDir dir;
  const auto r = run_pangu(eval_args(dir.path(), "mmlu,ceval", "--limit 5"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_complete_run(dir.path(), "mmlu", 57 * 5);
  expect_complete_run(dir.path(), "ceval", 52 * 5);
  const auto summary = read_json(dir / "mmlu.summary.json");
  EXPECT_EQ(summary["subjects"].size(), 57u);
  EXPECT_EQ(summary["categories"].size(), 4u);
  // Chance is 25%; a 260K-parameter story model should not be far from it.
  EXPECT_GT(summary["micro_accuracy"].get<double>(), 0.1);
  EXPECT_LT(summary["micro_accuracy"].get<double>(), 0.45);
  const auto rec = read_records(dir / "ceval.jsonl")[0];
  EXPECT_EQ(rec["choice_logprobs"].size(), 4u);
  EXPECT_NE(rec["prompt"].get<std::string>().find("以下是中国关于"), std::string::npos);
  EXPECT_EQ(rec["correct"], rec["extracted"] == rec["reference"]);
}

TEST(Eval, KilledRunResumesWhereItStopped) {
  TempDir dir;
  const std::string args = eval_args(dir.path(), "mmlu", "--limit 5");
  const std::string samples = dir / "mmlu.jsonl";
  const pid_t pid = test::start_pangu(args);
  // Kill it once some samples are written, well before the 285 it was asked for.
  size_t seen = 0;
  for (int i = 0; i < 3000 && seen < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    seen = read_records(samples).size();
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before it could be killed";
  const std::string before = read_text(samples);
  const size_t done = before.empty() ? 0 : read_records(samples).size();  // a torn line is not counted
  ASSERT_GE(done, 1u);
  ASSERT_LT(done, 285u);

  const auto r = run_pangu(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("already done (resuming)"), std::string::npos) << r.err;
  expect_complete_run(dir.path(), "mmlu", 285);
  // Everything complete before the kill is kept byte for byte.
  const std::string after = read_text(samples);
  const size_t complete_bytes = before.rfind('\n') + 1;
  EXPECT_EQ(after.substr(0, complete_bytes), before.substr(0, complete_bytes));

  // Same settings again: nothing left to do; other settings: refused, naming the run file.
  const auto again = run_pangu(args);
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.err.find("285 already done"), std::string::npos) << again.err;
  const auto other = run_pangu(args + " --shots 2");
  EXPECT_NE(other.exit_code, 0);
  EXPECT_NE(other.err.find("mmlu.run.json"), std::string::npos) << other.err;
  EXPECT_NE(other.err.find("shots"), std::string::npos) << other.err;
}

TEST(Eval, CompareTwoRuns) {
  TempDir a, b;
  const std::string subjects = "--subjects anatomy,virology --limit 10";
  ASSERT_EQ(run_pangu(eval_args(a.path(), "mmlu", subjects + " --shots 5")).exit_code, 0);
  ASSERT_EQ(run_pangu(eval_args(b.path(), "mmlu", subjects + " --shots 0")).exit_code, 0);
  const auto ra = read_records(a / "mmlu.jsonl"), rb = read_records(b / "mmlu.jsonl");
  int lost = 0, gained = 0, a_right = 0, b_right = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    const bool ca = ra[i]["correct"], cb = rb[i]["correct"];
    lost += ca && !cb;
    gained += !ca && cb;
    a_right += ca;
    b_right += cb;
  }
  const auto r = run_pangu("eval --compare " + a.path() + " " + b.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string row = fmt::format("| mmlu | (all) | 20 | {:.2f}% | {:.2f}% | {:+.2f} | {} | {} | ", a_right * 5.0,
                                      b_right * 5.0, (b_right - a_right) * 5.0, lost, gained);
  EXPECT_NE(r.out.find(row), std::string::npos) << r.out << "\nexpected " << row;
  EXPECT_NE(r.out.find("| mmlu | anatomy | 10 |"), std::string::npos) << r.out;
}

TEST(Eval, BadInvocationsAreClearErrors) {
  TempDir dir;
  auto r = run_pangu(eval_args(dir.path(), "hellaswag"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("unknown task \"hellaswag\""), std::string::npos) << r.err;
  r = run_pangu("eval -m " + shared("models/stories260K") + " --task gsm8k --data " + dir.path());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("gsm8k/train.jsonl"), std::string::npos) << r.err;
  r = run_pangu(eval_args(dir.path(), "mmlu", "--subjects astrology"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("unknown subject \"astrology\""), std::string::npos) << r.err;
  r = run_pangu("eval --compare " + dir.path());
  EXPECT_NE(r.exit_code, 0);
}

}  // namespace
}  // namespace pangu
