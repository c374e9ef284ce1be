// Prompt layouts against texts written out by hand from the published formats (Hendrycks et al.'s MMLU
// prompt, C-Eval's official prompt, the MBPP paper's, openPangu's chat format), on a constructed data
// directory.
#include <gtest/gtest.h>

#include <filesystem>

#include "eval/tasks.h"
#include "test_util.h"

namespace pangu {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using test::write_text;

struct Data {
  TempDir dir;
  Data() {
    fs::create_directories(dir / "mmlu/dev");
    fs::create_directories(dir / "mmlu/test");
    write_text(dir / "mmlu/dev/college_physics_dev.csv", "What is 1+1?,1,2,3,4,B\n\"Say \"\"hi\"\", then?\",a,b,c,d,D\n");
    write_text(dir / "mmlu/test/college_physics_test.csv", "Speed of light?,c,0,1,2,A\nQ2,w,x,y,z,C\n");
    fs::create_directories(dir / "ceval/dev");
    fs::create_directories(dir / "ceval/val");
    write_text(dir / "ceval/dev/logic_dev.csv", "id,question,A,B,C,D,answer,explanation\n0,甲是乙吗？,是,否,都是,都不是,A,因为\n");
    write_text(dir / "ceval/val/logic_val.csv", "id,question,A,B,C,D,answer\n7,丙呢？,一,二,三,四,C\n");
    fs::create_directories(dir / "gsm8k");
    write_text(dir / "gsm8k/train.jsonl",
               "{\"question\": \"Tom has 2 bags of 3 apples. How many?\", "
               "\"answer\": \"He has 2*3=<<2*3=6>>6 apples.\\n#### 6\"}\n");
    write_text(dir / "gsm8k/test.jsonl", "{\"question\": \"What is 5+5?\", \"answer\": \"5+5=10\\n#### 10\"}\n");
  }
};

TEST(EvalPrompts, MmluHendrycksFormat) {
  Data data;
  auto task = make_task("mmlu");
  const auto samples = task->load(data.dir.path(), {});
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].id, "college_physics/0");
  EXPECT_EQ(samples[0].reference, "A");
  EXPECT_EQ(render_plain(task->prompt(samples[1], 5)),
            "The following are multiple choice questions (with answers) about college physics.\n\n"
            "What is 1+1?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer: B\n\n"
            "Say \"hi\", then?\nA. a\nB. b\nC. c\nD. d\nAnswer: D\n\n"
            "Q2\nA. w\nB. x\nC. y\nD. z\nAnswer:");
  EXPECT_EQ(task->choice_lead(), " ");
  EXPECT_EQ(render_plain(task->prompt(samples[0], 0)),
            "The following are multiple choice questions (with answers) about college physics.\n\n"
            "Speed of light?\nA. c\nB. 0\nC. 1\nD. 2\nAnswer:");
  TaskSelection one{1, {"college_physics"}};
  EXPECT_EQ(task->load(data.dir.path(), one).size(), 1u);
}

TEST(EvalPrompts, CevalOfficialFormat) {
  Data data;
  auto task = make_task("ceval");
  const auto samples = task->load(data.dir.path(), {});
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].id, "logic/7");
  EXPECT_EQ(render_plain(task->prompt(samples[0], 5)),
            "以下是中国关于逻辑学考试的单项选择题，请选出其中的正确答案。\n\n"
            "甲是乙吗？\nA. 是\nB. 否\nC. 都是\nD. 都不是\n答案：A\n\n"
            "丙呢？\nA. 一\nB. 二\nC. 三\nD. 四\n答案：");
  EXPECT_EQ(task->choice_lead(), "");
  EXPECT_EQ(task->subject_info("logic").category, "Humanities");
}

TEST(EvalPrompts, Gsm8kShotsFromTrain) {
  Data data;
  auto task = make_task("gsm8k");
  const auto samples = task->load(data.dir.path(), {});
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].reference, "10");
  EXPECT_EQ(render_plain(task->prompt(samples[0], 8)),
            "Question: Tom has 2 bags of 3 apples. How many?\nAnswer: He has 2*3=6 apples.\nThe answer is 6.\n\n"
            "Question: What is 5+5?\nAnswer:");
}

TEST(EvalPrompts, ChatLayoutPutsShotsInTurns) {
  Data data;
  auto task = make_task("gsm8k");
  const auto samples = task->load(data.dir.path(), {});
  EXPECT_EQ(render_chat_prompt(task->prompt(samples[0], 1), ChatTemplate::kPangu),
            "[unused9]系统：[unused10]"
            "[unused9]用户：Question: Tom has 2 bags of 3 apples. How many?[unused10]"
            "[unused9]助手：Answer: He has 2*3=6 apples.\nThe answer is 6.[unused10]"
            "[unused9]用户：Question: What is 5+5?[unused10]"
            "[unused9]助手：Answer:");
  auto mmlu = make_task("mmlu");
  const auto questions = mmlu->load(data.dir.path(), {});
  const std::string chat = render_chat_prompt(mmlu->prompt(questions[0], 1), ChatTemplate::kChatML);
  EXPECT_EQ(chat,
            "<|im_start|>user\nThe following are multiple choice questions (with answers) about college physics."
            "\n\nWhat is 1+1?\nA. 1\nB. 2\nC. 3\nD. 4<|im_end|>\n"
            "<|im_start|>assistant\nAnswer: B<|im_end|>\n"
            "<|im_start|>user\nSpeed of light?\nA. c\nB. 0\nC. 1\nD. 2<|im_end|>\n"
            "<|im_start|>assistant\nAnswer:");
}

TEST(EvalPrompts, MbppPaperFormat) {
  TempDir dir;
  fs::create_directories(dir / "mbpp");
  std::string lines;
  for (int id : {1, 2, 3, 4, 11})
    lines += "{\"task_id\": " + std::to_string(id) + ", \"text\": \"Task " + std::to_string(id) +
             ".\", \"code\": \"def f" + std::to_string(id) + "():\\r\\n  return 1\", \"test_list\": "
             "[\"assert f() == 1\", \"assert f() != 2\", \"assert f() > 0\"], \"test_setup_code\": \"\"}\n";
  write_text(dir / "mbpp/mbpp.jsonl", lines);
  auto task = make_task("mbpp");
  const auto samples = task->load(dir.path(), {});
  ASSERT_EQ(samples.size(), 1u);  // only ids 11-510 are test tasks
  EXPECT_EQ(samples[0].id, "task/11");
  const std::string tests = "assert f() == 1\nassert f() != 2\nassert f() > 0\n";
  auto intro = [](int id) {
    return "You are an expert Python programmer, and here is your task: Task " + std::to_string(id) +
           ". Your code should pass these tests:\n\n";
  };
  EXPECT_EQ(render_plain(task->prompt(samples[0], 2)),
            intro(2) + tests + "[BEGIN]\n 'def f2():\r\n  return 1' \n[DONE] \n\n" + intro(3) + tests +
                "[BEGIN]\n 'def f3():\r\n  return 1' \n[DONE] \n\n" + intro(11) + tests + "[BEGIN]\n");
}

}  // namespace
}  // namespace pangu
