// pangu prune and distill on the real stories260K checkpoint (MLP width 172, align 4): Taylor importance
// beats a random channel choice, distillation at least halves the pruned model's KL, the output loads and
// runs, global widths become a per-layer list, and a killed run resumes.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "test_util.h"

namespace pangu {
namespace {

using test::read_json;
using test::run_pangu;
using test::shared;
using test::TempDir;

// Training / calibration text sampled from the teacher itself (no TinyStories corpus ships with ../shared),
// made once per test binary.
const std::string& teacher_text() {
  static TempDir dir;
  static std::string path;
  if (path.empty()) {
    std::string text;
    const char* prompts[] = {"Once upon a time", "One day", "Tom and Lily", "There was a little"};
    for (int seed = 1; seed <= 48; ++seed) {
      const auto r = run_pangu("run -m " + shared("models/stories260K") + " -p \"" + prompts[seed % 4] +
                               "\" -n 200 -t 1 --temp 1 --top-k 0 --top-p 1 --min-p 0 -s " + std::to_string(seed));
      text += std::string(prompts[seed % 4]) + r.out + "\n\n";
    }
    path = dir / "teacher_stories.txt";
    test::write_text(path, text);
  }
  return path;
}

std::string prune_args(const std::string& out, const std::string& extra) {
  return "prune -m " + shared("models/stories260K") + " -o " + out + " --align 4 --rounds 5 --seq-len 128 --data " +
         teacher_text() + " --eval-data " + test::test_data("heldout_stories.txt") + " -t 1 " + extra;
}

double final_kl(const std::string& out, const char* which) {
  const auto report = read_json(out + "/prune_report.json");
  return report["rounds"].back()[which]["kl"].get<double>();
}

TEST(Prune, TaylorBeatsRandomAndDistillationHalvesKl) {
  TempDir dir;
  const std::string taylor = dir / "taylor", random = dir / "random", distilled = dir / "distilled";
  ASSERT_EQ(run_pangu(prune_args(taylor, "--ratio 0.2083 --steps 0 --importance taylor")).exit_code, 0);
  ASSERT_EQ(run_pangu(prune_args(random, "--ratio 0.2083 --steps 0 --importance random --seed 3")).exit_code, 0);
  const auto r = run_pangu(prune_args(distilled, "--ratio 0.2083 --steps 50 --lr 1e-3 --batch 4"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const double kl_taylor = final_kl(taylor, "before_distill"), kl_random = final_kl(random, "before_distill");
  const double kl_distilled = final_kl(distilled, "after_distill");
  std::printf("5/24 pruned: KL taylor %.4f, random %.4f, taylor + distillation %.4f\n", kl_taylor, kl_random,
              kl_distilled);
  EXPECT_LT(kl_taylor, kl_random);
  EXPECT_LT(kl_distilled, 0.5 * kl_taylor);

  // The pruned model is smaller and runs.
  const auto config = read_json(distilled + "/config.json");
  EXPECT_EQ(config["intermediate_size"], 136);  // 172 * (1 - 5/24) = 136.2 -> 136
  EXPECT_LT(std::filesystem::file_size(distilled + "/model.safetensors"),
            std::filesystem::file_size(shared("models/stories260K/model.safetensors")));
  EXPECT_FALSE(std::filesystem::exists(distilled + ".partial"));
  const auto run = run_pangu("run -m " + distilled + " -p \"Once upon a time\" -n 20 --greedy");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_FALSE(run.out.empty());
}

TEST(Prune, GlobalWidthsArePerLayerAndLoad) {
  TempDir dir;
  const std::string out = dir / "global";
  const auto r = run_pangu(prune_args(out, "--ratio 0.25 --steps 0 --global --importance magnitude"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto widths = read_json(out + "/config.json")["intermediate_size"];
  ASSERT_TRUE(widths.is_array());
  ASSERT_EQ(widths.size(), 5u);
  int64_t total = 0;
  for (const auto& w : widths) {
    EXPECT_EQ(w.get<int64_t>() % 4, 0);
    total += w.get<int64_t>();
  }
  EXPECT_NEAR(static_cast<double>(total), 0.75 * 5 * 172, 5 * 2.0);
  EXPECT_EQ(run_pangu("run -m " + out + " -p \"Tom\" -n 8 --greedy").exit_code, 0);
}

TEST(Prune, KilledRunResumes) {
  TempDir dir;
  const std::string out = dir / "resumed";
  const std::string args = prune_args(out, "--ratio 0.2083 --steps 30 --save-every 5 --lr 1e-3");
  const pid_t pid = test::start_pangu(args);
  // Kill it once a checkpoint past the first round exists.
  for (int i = 0; i < 6000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const std::string state = out + ".partial/state.json";
    if (std::filesystem::exists(state)) {
      try {
        if (read_json(state)["round"].get<int>() >= 2) break;
      } catch (...) {
      }
    }
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "finished before it could be killed";
  ASSERT_FALSE(std::filesystem::exists(out));
  const auto r = run_pangu(args + " --resume");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("resuming round"), std::string::npos) << r.err;
  EXPECT_EQ(read_json(out + "/config.json")["intermediate_size"], 136);
  EXPECT_EQ(read_json(out + "/prune_report.json")["rounds"].size(), 5u);
  EXPECT_FALSE(std::filesystem::exists(out + ".partial"));
  EXPECT_EQ(run_pangu("run -m " + out + " -p \"Tom\" -n 8 --greedy").exit_code, 0);
}

TEST(Prune, BadArgumentsAreClearErrors) {
  TempDir dir;
  auto r = run_pangu(prune_args(dir / "x", "--ratio 1.5"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--ratio 1.5"), std::string::npos) << r.err;
  r = run_pangu(prune_args(dir / "x", "--ratio 0.1 --importance fisher"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--importance \"fisher\""), std::string::npos) << r.err;
}

TEST(Distill, StudentMovesTowardTheTeacher) {
  TempDir dir;
  // The student: stories260K pruned without distillation; the teacher: the original.
  ASSERT_EQ(run_pangu(prune_args(dir / "pruned", "--ratio 0.2083 --steps 0")).exit_code, 0);
  const auto r = run_pangu("distill --student " + dir / "pruned" + " --teacher " + shared("models/stories260K") +
                           " -o " + dir / "out" + " --data " + teacher_text() + " --eval-data " +
                           test::test_data("heldout_stories.txt") + " --steps 60 --lr 1e-3 --seq-len 128 -t 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = read_json(dir / "out/distill_report.json");
  EXPECT_LT(report["after"]["kl"].get<double>(), 0.5 * report["before"]["kl"].get<double>());
}

}  // namespace
}  // namespace pangu
