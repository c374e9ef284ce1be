// Per-sample result files: a torn last line is cut off on resume, nothing else is lost; summaries and the
// comparison of two runs count what they should.
#include <gtest/gtest.h>

#include "eval/results.h"
#include "eval/tasks.h"
#include "test_util.h"

namespace pangu {
namespace {

using test::read_text;
using test::TempDir;
using test::write_text;

Json record(const std::string& id, bool correct, const std::string& subject = "") {
  Json r = {{"id", id}, {"correct", correct}, {"prompt_tokens", 10}, {"output_tokens", 2}, {"seconds", 0.5}};
  if (!subject.empty()) r["subject"] = subject;
  return r;
}

TEST(SampleLog, ResumesAndCutsATornLine) {
  TempDir dir;
  const std::string path = dir / "gsm8k.jsonl";
  {
    SampleLog log(path);
    EXPECT_TRUE(log.records().empty());
    log.append(record("test/0", true));
    log.append(record("test/1", false));
  }
  const std::string complete = read_text(path);
  write_text(path, complete + "{\"id\": \"test/2\", \"corr");  // killed in the middle of a write
  {
    SampleLog log(path);
    ASSERT_EQ(log.records().size(), 2u);
    EXPECT_NE(log.find("test/1"), nullptr);
    EXPECT_EQ(log.find("test/2"), nullptr);
    EXPECT_EQ(read_text(path), complete);  // the torn bytes are gone, the rest untouched
    log.append(record("test/2", true));
  }
  const auto records = read_sample_records(path);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2]["id"], "test/2");
  EXPECT_EQ(read_text(path).substr(0, complete.size()), complete);
}

TEST(SampleLog, RejectsACorruptCompleteLine) {
  TempDir dir;
  const std::string path = dir / "mmlu.jsonl";
  write_text(path, "{\"id\": \"a/0\", \"correct\": true}\nnot json\n");
  try {
    SampleLog log(path);
    FAIL() << "accepted a corrupt line";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":2"), std::string::npos) << e.what();
  }
}

TEST(Summary, MacroAndMicroPerSubjectAndCategory) {
  auto task = make_task("mmlu");
  std::vector<Json> records = {record("anatomy/0", true, "anatomy"), record("anatomy/1", false, "anatomy"),
                               record("anatomy/2", false, "anatomy"), record("anatomy/3", false, "anatomy"),
                               record("astronomy/0", true, "astronomy"), record("virology/0", true, "virology")};
  const Json s = summarize_task(*task, records);
  EXPECT_EQ(s["n"], 6);
  EXPECT_EQ(s["correct"], 3);
  EXPECT_DOUBLE_EQ(s["micro_accuracy"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(s["macro_accuracy"].get<double>(), (0.25 + 1.0 + 1.0) / 3);
  EXPECT_EQ(s["subjects"]["astronomy"]["category"], "STEM");
  EXPECT_EQ(s["categories"]["other"]["n"], 5);  // anatomy and virology are health: "other"
  EXPECT_DOUBLE_EQ(s["categories"]["other"]["macro_accuracy"].get<double>(), (0.25 + 1.0) / 2);
  EXPECT_DOUBLE_EQ(s["categories"]["other"]["micro_accuracy"].get<double>(), 2.0 / 5);
  EXPECT_EQ(s["prompt_tokens"], 60);
  const std::string table = summary_table(s, true);
  EXPECT_NE(table.find("| mmlu | 6 | 3 | 50.00% |"), std::string::npos) << table;
  EXPECT_NE(table.find("| anatomy | other | 4 | 25.00% |"), std::string::npos) << table;
}

TEST(Compare, CountsFlipsEachWay) {
  TempDir a, b;
  write_text(a / "mmlu.jsonl", record("x/0", true, "x").dump() + "\n" + record("x/1", true, "x").dump() + "\n" +
                                   record("y/0", false, "y").dump() + "\n" + record("y/1", true, "y").dump() + "\n");
  write_text(b / "mmlu.jsonl", record("x/0", false, "x").dump() + "\n" + record("x/1", true, "x").dump() + "\n" +
                                   record("y/0", true, "y").dump() + "\n" + record("y/1", true, "y").dump() + "\n" +
                                   record("y/2", true, "y").dump() + "\n");
  write_text(a / "gsm8k.jsonl", record("test/0", true).dump() + "\n");  // only in A: not compared
  const std::string out = compare_runs(a.path(), b.path());
  EXPECT_NE(out.find("| mmlu | (all) | 4 | 75.00% | 75.00% | +0.00 | 1 | 1 | 4 |"), std::string::npos) << out;
  EXPECT_NE(out.find("| mmlu | x | 2 | 100.00% | 50.00% | -50.00 | 1 | 0 | 2 |"), std::string::npos) << out;
  EXPECT_NE(out.find("| mmlu | y | 2 | 50.00% | 100.00% | +50.00 | 0 | 1 | 2 |"), std::string::npos) << out;
  EXPECT_NE(out.find("0 samples only in A, 1 only in B"), std::string::npos) << out;
  EXPECT_EQ(out.find("gsm8k"), std::string::npos);
  EXPECT_THROW(compare_runs(a.path(), a / "missing"), Error);
}

}  // namespace
}  // namespace pangu
