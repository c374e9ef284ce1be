// The lexical intent recognizer: its features (CJK, code, lettered options, passage and question), training
// determinism, the model file's round trip and validation, and behaviour on empty, invalid and huge input.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "adapt/intent_features.h"
#include "adapt/lexical_intent.h"
#include "pangu/error.h"
#include "test_util.h"

namespace pangu {
namespace {

bool has_flag(std::string_view text, const std::string& flag) {
  const auto flags = intent_shape_flags(text);
  return std::find(flags.begin(), flags.end(), flag) != flags.end();
}

std::set<uint32_t> buckets(std::string_view text) {
  IntentFeatures f;
  extract_intent_features(text, 16, f);
  return {f.index.begin(), f.index.end()};
}

TEST(IntentFeatures, LetteredOptionsInEveryCommonForm) {
  EXPECT_TRUE(has_flag("Which is a prime?\nA. 21\nB. 27\nC. 29\nD. 33", "options"));
  EXPECT_TRUE(has_flag("Pick one:\n(A) red\n(B) green\n(C) blue\n(D) black", "options"));
  EXPECT_TRUE(has_flag("我国最大的淡水湖是（　）\nA．太湖\nB．洞庭湖\nC．鄱阳湖\nD．洪泽湖", "options"));
  EXPECT_TRUE(has_flag("单选题\nA、罗贯中\nB、曹雪芹\nC、施耐庵", "options"));
  EXPECT_FALSE(has_flag("A dog ran.\nBig news today.\nCats sleep a lot.", "options"));
  // Options inside one line.
  EXPECT_TRUE(has_flag("Which is prime? A. 21 B. 27 C. 29 D. 33", "options_inline"));
  EXPECT_TRUE(has_flag("Inflation is (A) a fall (B) a rise (C) a tax (D) a loan", "options_inline"));
  EXPECT_TRUE(has_flag("选项：A、太湖 B、洞庭湖 C、鄱阳湖 D、洪泽湖", "options_inline"));
  EXPECT_FALSE(has_flag("I got an A. Then a B. It was fine.", "options_inline"));
}

TEST(IntentFeatures, PassageThenQuestionCodeAndScript) {
  const std::string passage(600, 'x');
  EXPECT_TRUE(has_flag(passage + "\nWho won?", "passage_then_line"));
  EXPECT_FALSE(has_flag("Who won?", "passage_then_line"));
  EXPECT_TRUE(has_flag("Fix this:\n```python\nprint(1)\n```", "fence"));
  EXPECT_TRUE(has_flag("def f(x):\n    return x", "code_lines"));
  EXPECT_TRUE(has_flag("今天天气很好", "script_cjk"));
  EXPECT_TRUE(has_flag("The weather is nice today", "script_latin"));
  EXPECT_TRUE(has_flag("请总结：The weather is nice today and everyone is outside", "script_mixed"));
}

TEST(IntentFeatures, CjkCharactersAndTheirOrderCount) {
  const auto a = buckets("我爱北京"), b = buckets("北京我爱"), c = buckets("天气很好");
  EXPECT_NE(a, b);  // character pairs see the order
  std::vector<uint32_t> shared_ab, shared_ac;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(shared_ab));
  std::set_intersection(a.begin(), a.end(), c.begin(), c.end(), std::back_inserter(shared_ac));
  EXPECT_GT(shared_ab.size(), shared_ac.size());  // the same characters share their unigram buckets
  EXPECT_GE(a.size(), 8u);
}

TEST(IntentFeatures, WordsAreCaseFoldedAndVectorsNormalized) {
  EXPECT_EQ(buckets("Write A Function"), buckets("write a function"));
  IntentFeatures f;
  extract_intent_features("Translate into French: good morning", 16, f);
  double norm = 0;
  for (float v : f.value) norm += static_cast<double>(v) * v;
  EXPECT_NEAR(norm, 1.0, 1e-5);
}

TEST(IntentFeatures, AnyBytesAreSafe) {
  IntentFeatures f;
  for (std::string text : {std::string(""), std::string("\xff\xfe\xc3"), std::string("\xe4\xbd"), std::string(1, '\0'),
                           std::string("\xf4\x90\x80\x80 abc"), std::string("\xed\xa0\x80")})
    extract_intent_features(text, 16, f);
  // A 1 MB request is read by its head and tail: its features are those of about 5 KB.
  std::string huge;
  while (huge.size() < (1u << 20)) huge += "The quick brown fox jumps over the lazy dog. 中文句子。";
  extract_intent_features(huge, 16, f);
  EXPECT_LT(f.index.size(), 6000u);
}

std::vector<IntentSample> tiny_corpus() {
  std::vector<IntentSample> s;
  for (int i = 0; i < 30; ++i) {
    s.push_back({"Translate into French: sentence number " + std::to_string(i), Intent::kTranslation, "en", ""});
    s.push_back({"What is " + std::to_string(i) + " plus " + std::to_string(i * 3) + "?", Intent::kMath, "en", ""});
    s.push_back({"Write a Python function that returns " + std::to_string(i), Intent::kCode, "en", ""});
    s.push_back({"请总结这篇文章第" + std::to_string(i) + "段", Intent::kSummarization, "zh", ""});
  }
  return s;
}

TEST(LexicalIntent, TrainingIsDeterministicAndLearnsItsCorpus) {
  const auto corpus = tiny_corpus();
  LexicalTrainOptions o;
  o.bucket_bits = 12;
  o.epochs = 5;
  const std::string a = train_lexical_intent(corpus, corpus, o).to_bytes();
  const std::string b = train_lexical_intent(corpus, corpus, o).to_bytes();
  EXPECT_EQ(a, b);
  o.seed = 2;
  EXPECT_NE(train_lexical_intent(corpus, corpus, o).to_bytes(), a);
  const auto m = LexicalIntentModel::from_bytes(a, "trained");
  EXPECT_EQ(m.classify("Translate into French: hello").label, Intent::kTranslation);
  EXPECT_EQ(m.classify("请总结这篇文章").label, Intent::kSummarization);
  EXPECT_EQ(m.classify("What is 7 plus 9?").label, Intent::kMath);
}

TEST(LexicalIntent, SaveLoadRoundTrip) {
  LexicalTrainOptions o;
  o.bucket_bits = 10;
  o.epochs = 2;
  const auto m = train_lexical_intent(tiny_corpus(), {}, o);
  test::TempDir tmp;
  m.save(tmp / "m.pgi");
  const auto loaded = LexicalIntentModel::load(tmp / "m.pgi");
  EXPECT_EQ(loaded.to_bytes(), m.to_bytes());
  for (const auto& s : tiny_corpus()) {
    const auto x = m.classify(s.text), y = loaded.classify(s.text);
    EXPECT_EQ(x.label, y.label);
    EXPECT_EQ(x.scores, y.scores);
  }
}

void expect_load_error(const std::string& bytes, const std::string& must_contain) {
  try {
    LexicalIntentModel::from_bytes(bytes, "model.pgi");
    ADD_FAILURE() << "accepted a bad file; expected: " << must_contain;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.pgi"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(must_contain), std::string::npos) << e.what();
  }
}

TEST(LexicalIntent, DamagedFilesAreRefusedWithTheReason) {
  LexicalTrainOptions o;
  o.bucket_bits = 8;
  o.epochs = 1;
  const std::string good = train_lexical_intent(tiny_corpus(), {}, o).to_bytes();
  expect_load_error("", "truncated");
  expect_load_error("NOTMODEL" + good.substr(8), "magic");
  expect_load_error(good.substr(0, good.size() - 1), "bytes after the header");
  std::string flipped = good;
  flipped[good.size() / 2] ^= 1;
  expect_load_error(flipped, "checksum");
  std::string version = good;
  version[8] = 9;
  expect_load_error(version, "version 9");
  std::string bits = good;
  bits[16] = 40;
  expect_load_error(bits, "bucket_bits 40");
}

TEST(LexicalIntent, BuiltInModelHandlesEdgeInput) {
  const auto& m = LexicalIntentModel::builtin();
  const auto empty = m.classify("");
  EXPECT_TRUE(empty.uncertain);
  EXPECT_EQ(empty.label, kFallbackIntent);
  EXPECT_TRUE(m.classify("   \n\t").uncertain);
  const auto invalid = m.classify("\xff\xfe Translate into French: good morning \xc3");
  EXPECT_EQ(invalid.label, Intent::kTranslation);
  // 1 MB is read by its head and tail: a valid result, at the cost of about 5 KB.
  std::string huge = "Summarize: ";
  while (huge.size() < (1u << 20)) huge += "The council met on Tuesday and voted to expand the park. ";
  for (const std::string& text : {huge, std::string("你好")}) {
    const auto r = m.classify(text);
    float total = 0;
    for (float p : r.scores) total += p;
    EXPECT_NEAR(total, 1.0f, 1e-5f);
    EXPECT_EQ(r.confidence, r.scores[static_cast<int>(r.label)]);
  }
}

TEST(Intent, NamesRoundTrip) {
  for (int i = 0; i < kIntentCount; ++i) {
    const auto intent = static_cast<Intent>(i);
    EXPECT_EQ(intent_from_name(intent_name(intent)), intent);
  }
  EXPECT_FALSE(intent_from_name("poetry"));
}

}  // namespace
}  // namespace pangu
