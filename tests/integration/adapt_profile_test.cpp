// pangu adapt profile, workload and chat --strategy on the real stories260K: the measured profile reads back
// and drives the policy; a variant that is a copy of base measures exactly base's fidelity (top-1 100%, KL 0,
// ROUGE-L 100, a zero interval); an interrupted run resumes to the same figures and refuses other settings;
// the workload compares auto with fixed strategies; chat picks per message and learns across turns.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "adapt/strategy_profile.h"
#include "test_util.h"

namespace pangu {
namespace {

namespace fs = std::filesystem;

const char* kPrompts =
    R"({"text": "Tom had 3 apples and Lily gave him 5 more. How many apples does Tom have now?", "label": "math"}
{"text": "Sam has 12 cookies and eats 4 of them. How many cookies are left?", "label": "math"}
{"text": "Once upon a time there was a little girl named Lily. She liked to play in the park. One day", "label": "chat"}
{"text": "Tell me a story about a dog who finds a big red ball in the garden.", "label": "chat"}
{"text": "Write a Python function that returns the sum of a list of numbers.", "label": "code"}
{"text": "Fix this code: def add(a, b): return a - b", "label": "code"}
)";

struct Testbed {
  test::TempDir tmp;
  std::string base = test::shared("models/stories260K");
  std::string copy, prompts, profile;
  Testbed() {
    copy = tmp / "copy";
    fs::copy(base, copy, fs::copy_options::recursive);
    prompts = tmp / "prompts.jsonl";
    test::write_text(prompts, kPrompts);
    profile = tmp / "profile.json";
  }
  std::string profile_args(const std::string& extra = "") const {
    return "adapt profile --variants base=" + base + ",copy=" + copy + " --methods plain,pld:3:4 --prompts " + prompts +
           " --per-category 2 --max-tokens 24 --scored-per-category 2 --shots 0 --task-max-tokens 16 -t 1 --data " + test::shared("data") + " -o " +
           profile + " " + extra;
  }
};

const QualityRow* quality_of(const CategoryProfile& c, const std::string& variant) {
  for (const auto& q : c.quality)
    if (q.variant == variant) return &q;
  return nullptr;
}

TEST(AdaptProfile, MeasuresReadsBackAndACopyOfBaseIsExactlyFaithful) {
  Testbed t;
  const auto r = test::run_pangu(t.profile_args());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const StrategyProfile p = StrategyProfile::load(t.profile);
  EXPECT_EQ(p.threads, 1);
  ASSERT_EQ(p.variants.size(), 2u);
  EXPECT_GT(p.variants.at("base").resident_bytes, 0u);
  for (const char* c : {"math", "chat", "code"}) ASSERT_TRUE(p.categories[static_cast<int>(*intent_from_name(c))]) << c;
  EXPECT_FALSE(p.categories[static_cast<int>(Intent::kExam)]);

  // chat is scored by fidelity: the copy computes what base computes.
  const auto& chat = *p.categories[static_cast<int>(Intent::kChat)];
  const QualityRow* q = quality_of(chat, "copy");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->metric, "top1_vs_base");
  EXPECT_EQ(q->n, 2);
  EXPECT_DOUBLE_EQ(q->value, 100.0);
  EXPECT_DOUBLE_EQ(q->drop, 0.0);
  EXPECT_DOUBLE_EQ(q->drop_ci.low, 0.0);
  // No miss in the positions compared: the pessimistic end is the 95% bound of a miss rate never observed
  // (about 3 / positions), not 0.
  EXPECT_GT(q->drop_ci.high, 100.0 * (1.0 - std::pow(0.05, 1.0 / 48)) - 1e-9);
  EXPECT_LT(q->drop_ci.high, 100.0 * (1.0 - std::pow(0.05, 1.0 / 2)));
  EXPECT_NEAR(q->details.at("kl_vs_base"), 0.0, 1e-9);
  EXPECT_DOUBLE_EQ(q->details.at("rouge_l_vs_base"), 100.0);

  // math and code went through the eval harness (GSM8K, MBPP), which stories260K never solves: a task base
  // scores 0 on cannot show a loss, so those categories are scored by fidelity, and say so.
  for (Intent c : {Intent::kMath, Intent::kCode}) {
    const QualityRow* m = quality_of(*p.categories[static_cast<int>(c)], "copy");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->metric, "top1_vs_base");
    EXPECT_EQ(m->details.count("task_base_value_at_floor"), 1u);
    EXPECT_DOUBLE_EQ(m->drop, 0.0);
  }
  const std::string journal = test::read_text(t.profile + ".journal.jsonl");
  EXPECT_NE(journal.find("\"task/copy/gsm8k/test/1\""), std::string::npos);
  EXPECT_NE(journal.find("\"task/copy/mbpp/task/12\""), std::string::npos);

  // Speed: a row per (variant, method), intervals around the mean, acceptance only for PLD.
  ASSERT_EQ(chat.speed.size(), 4u);
  for (const auto& s : chat.speed) {
    EXPECT_GT(s.decode_tps, 0) << s.variant << " " << s.method;
    EXPECT_LE(s.decode_tps_ci.low, s.decode_tps);
    EXPECT_GE(s.decode_tps_ci.high, s.decode_tps);
    EXPECT_GE(s.n, 1);
    EXPECT_GT(s.ttft_ms, 0);
    if (s.method == "plain") {
      EXPECT_EQ(s.acceptance, 0);
    }
    EXPECT_LE(s.acceptance, 1.0);
  }
  EXPECT_EQ(p.overall.speed.size(), 4u);
  EXPECT_EQ(p.overall.quality.size(), 1u);
  EXPECT_NE(r.out.find("overall"), std::string::npos);

  // The measured profile drives the policy.
  const auto rec = test::run_pangu("adapt recommend --profile " + t.profile + " -p 'Tell me a story about a cat'");
  EXPECT_EQ(rec.exit_code, 0) << rec.err;
  EXPECT_NE(rec.out.find("strategy:"), std::string::npos) << rec.out;
}

TEST(AdaptProfile, ResumesFromItsJournalAndRefusesOtherSettings) {
  Testbed t;
  ASSERT_EQ(test::run_pangu(t.profile_args()).exit_code, 0);
  const StrategyProfile first = StrategyProfile::load(t.profile);
  // Cut the journal to its first half, as if the run had been stopped there, and go on.
  const std::string journal = t.profile + ".journal.jsonl";
  const std::string text = test::read_text(journal);
  size_t lines = 0, cut = 0;
  for (size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n' && ++lines == 20) cut = i + 1;
  ASSERT_GT(cut, 0u);
  test::write_text(journal, text.substr(0, cut) + "{\"id\": \"speed/torn");  // a torn last line too
  fs::remove(t.profile);
  const auto r = test::run_pangu(t.profile_args("--resume"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("resuming: 19 measurements"), std::string::npos) << r.err;
  const StrategyProfile second = StrategyProfile::load(t.profile);
  const auto& a = *first.categories[static_cast<int>(Intent::kMath)];
  const auto& b = *second.categories[static_cast<int>(Intent::kMath)];
  ASSERT_EQ(a.quality.size(), b.quality.size());
  EXPECT_EQ(a.quality[0].value, b.quality[0].value);
  EXPECT_EQ(a.speed.size(), b.speed.size());

  for (const char* changed : {"--resume --max-prompt-tokens 100", "--resume --raw"}) {
    const auto other = test::run_pangu(t.profile_args(changed));
    EXPECT_NE(other.exit_code, 0) << changed;
    EXPECT_NE(other.err.find("other settings"), std::string::npos) << changed << ": " << other.err;
  }
}

TEST(AdaptProfile, MistakesAreNamed) {
  Testbed t;
  auto expect_error = [](const std::string& args, const std::string& needle) {
    const auto r = test::run_pangu(args);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << ": " << r.err;
  };
  const std::string common = " --prompts " + t.prompts + " -o " + t.profile;
  expect_error("adapt profile --variants fast=" + t.base + common, "named base");
  expect_error("adapt profile --variants base=" + t.base + " --methods plain,draft:small:4" + common,
               "--draft small=DIR");
  expect_error("adapt profile --variants base=" + t.base + " --methods pld:3:4" + common, "must start with plain");
  expect_error("adapt profile --variants base=" + t.tmp.path() + "/nowhere" + common, "nowhere");
  test::write_text(t.tmp / "bad.jsonl", "{\"text\": \"hi\", \"label\": \"poetry\"}\n");
  expect_error("adapt profile --variants base=" + t.base + " --prompts " + (t.tmp / "bad.jsonl") + " -o " + t.profile,
               "bad.jsonl:1: label \"poetry\"");
}

TEST(AdaptWorkload, ComparesAutoWithFixedStrategies) {
  Testbed t;
  ASSERT_EQ(test::run_pangu(t.profile_args()).exit_code, 0);
  const std::string out = t.tmp / "workload.json";
  const auto r = test::run_pangu("adapt workload --profile " + t.profile + " --requests " + t.prompts +
                                 " --count 16 --max-tokens 12 --strategies auto,copy/plain,base/pld:3:4 -t 1 -o " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = test::read_json(out);
  EXPECT_EQ(j["requests"], 6);
  std::map<std::string, nlohmann::json> by;
  for (const auto& s : j["strategies"]) by[s["name"]] = s;
  ASSERT_EQ(by.size(), 4u);  // base/plain is always run: the quality reference
  // Lossless methods and an identical variant reproduce base's outputs exactly.
  for (const char* name : {"base/plain", "copy/plain", "base/pld:3:4"}) {
    EXPECT_DOUBLE_EQ(by[name]["quality"].get<double>(), 100.0) << name;
    EXPECT_EQ(by[name]["tokens"], by["base/plain"]["tokens"]) << name;
  }
  EXPECT_DOUBLE_EQ(by["auto"]["quality"].get<double>(), 100.0);
  EXPECT_EQ(by["auto"]["per_category"].size(), 3u);
  EXPECT_NE(r.out.find("| auto |"), std::string::npos) << r.out;
}

TEST(AdaptChat, PicksPerMessageAndSavesWhatItLearned) {
  Testbed t;
  ASSERT_EQ(test::run_pangu(t.profile_args()).exit_code, 0);
  const std::string input = t.tmp / "input.txt";
  test::write_text(input, "Tom had 3 apples and got 5 more. How many apples does he have?\n"
                          "Tell me a story about a dog.\nTell me a story about a cat.\n/exit\n");
  const std::string learned = t.tmp / "learned.json";
  const auto r = test::run_pangu("chat --strategy auto --profile " + t.profile + " -n 8 --greedy -v --save-learned " +
                                 learned + " < " + input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("strategy: math"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("strategy: chat"), std::string::npos) << r.err;
  // Three messages, three replies, each with its choice logged.
  size_t turns = 0;
  for (size_t at = r.err.find("-> "); at != std::string::npos; at = r.err.find("-> ", at + 1)) ++turns;
  EXPECT_EQ(turns, 3u) << r.err;
  EXPECT_FALSE(r.out.empty());
  const StrategyProfile saved = StrategyProfile::load(learned);
  ASSERT_FALSE(saved.learned.empty());
  double weight = 0;
  for (const auto& [variant, keys] : saved.learned)
    for (const auto& [key, arms] : keys)
      for (const auto& a : arms) weight += a.weight;
  EXPECT_GT(weight, 0);

  // A named strategy is applied to every message.
  const auto named = test::run_pangu("chat --strategy copy/pld:3:4 --profile " + t.profile + " -n 8 --greedy -v < " + input);
  ASSERT_EQ(named.exit_code, 0) << named.err;
  EXPECT_NE(named.err.find("-> copy with pld:3:4"), std::string::npos) << named.err;
}

}  // namespace
}  // namespace pangu
