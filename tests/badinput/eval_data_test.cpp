// Broken evaluation data: each problem is one error naming the file, the line or row, and what was expected.
#include <gtest/gtest.h>

#include <filesystem>

#include "eval/tasks.h"
#include "pangu/error.h"
#include "test_util.h"

namespace pangu {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using test::write_text;

// Loads `task` from `dir` and returns the error text ("" when it loaded).
std::string load_error(const std::string& task, const std::string& dir) {
  try {
    make_task(task)->load(dir, {});
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

void expect_error(const std::string& error, const std::vector<std::string>& parts) {
  ASSERT_FALSE(error.empty()) << "loaded without complaint";
  for (const auto& part : parts) EXPECT_NE(error.find(part), std::string::npos) << error << "\nlacks: " << part;
}

const char* kGoodGsm = "{\"question\": \"1 + 1?\", \"answer\": \"1 + 1 = 2\\n#### 2\"}\n";

TEST(BadEvalData, Gsm8k) {
  TempDir tmp;
  fs::create_directories(tmp / "gsm8k");
  write_text(tmp / "gsm8k/train.jsonl", kGoodGsm);
  write_text(tmp / "gsm8k/test.jsonl", std::string(kGoodGsm) + kGoodGsm + "{\"question\": \"x\", \"answer\": \n");
  expect_error(load_error("gsm8k", tmp.path()), {"gsm8k/test.jsonl:3"});
  write_text(tmp / "gsm8k/test.jsonl", std::string(kGoodGsm) + "{\"question\": \"x\"}\n");
  expect_error(load_error("gsm8k", tmp.path()), {"test.jsonl:2", "missing field \"answer\""});
  write_text(tmp / "gsm8k/test.jsonl", "{\"question\": \"x\", \"answer\": \"no marker 3\"}\n");
  expect_error(load_error("gsm8k", tmp.path()), {"test.jsonl:1", "####"});
  write_text(tmp / "gsm8k/test.jsonl", "[1, 2]\n");
  expect_error(load_error("gsm8k", tmp.path()), {"test.jsonl:1", "expected a JSON object"});
  fs::remove(tmp / "gsm8k/train.jsonl");
  expect_error(load_error("gsm8k", tmp.path()), {"gsm8k/train.jsonl"});
}

TEST(BadEvalData, Mbpp) {
  TempDir tmp;
  fs::create_directories(tmp / "mbpp");
  write_text(tmp / "mbpp/mbpp.jsonl", "{\"task_id\": 11, \"text\": \"t\", \"test_list\": \"assert f()\"}\n");
  expect_error(load_error("mbpp", tmp.path()), {"mbpp.jsonl:1", "test_list", "wrong type"});
  write_text(tmp / "mbpp/mbpp.jsonl", "{\"task_id\": 11, \"text\": \"t\", \"test_list\": []}\n");
  expect_error(load_error("mbpp", tmp.path()), {"mbpp.jsonl:1", "test_list is empty"});
}

TEST(BadEvalData, MmluAndCeval) {
  TempDir tmp;
  fs::create_directories(tmp / "mmlu/test");
  fs::create_directories(tmp / "mmlu/dev");
  write_text(tmp / "mmlu/test/anatomy_test.csv", "q1,a,b,c,d,A\nq2,a,b,c\n");
  expect_error(load_error("mmlu", tmp.path()), {"anatomy_test.csv", "row 2 has 4 columns"});
  write_text(tmp / "mmlu/test/anatomy_test.csv", "q1,a,b,c,d,E\n");
  expect_error(load_error("mmlu", tmp.path()), {"anatomy_test.csv", "row 1", "\"E\"", "A, B, C, D"});
  write_text(tmp / "mmlu/test/anatomy_test.csv", "\"unterminated,a,b,c,d,A\n");
  expect_error(load_error("mmlu", tmp.path()), {"anatomy_test.csv"});
  fs::remove(tmp / "mmlu/test/anatomy_test.csv");
  expect_error(load_error("mmlu", tmp.path()), {"mmlu/test", "no *_test.csv files"});

  fs::create_directories(tmp / "ceval/val");
  write_text(tmp / "ceval/val/law_val.csv", "question,A,B,C,D,answer\nq,a,b,c,d,A\n");
  expect_error(load_error("ceval", tmp.path()), {"law_val.csv", "header"});
  expect_error(load_error("ceval", tmp / "nowhere"), {"ceval/val", "no such directory"});
}

}  // namespace
}  // namespace pangu
