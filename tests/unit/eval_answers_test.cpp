// Answer extraction on GSM8K-style completions, MBPP code extraction and multiple-choice letter scoring.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/answers.h"
#include "eval/log_prob.h"

namespace pangu {
namespace {

std::string gsm(const std::string& text) { return extract_gsm8k_answer(text).value_or("<none>"); }

TEST(Gsm8kExtraction, RealStyleCompletions) {
  // Correct chain of thought in the shots' format.
  EXPECT_EQ(gsm(" Janet sells 16 - 3 - 4 = 9 duck eggs a day.\nShe makes 9 * 2 = $18 every day.\n"
                "The answer is 18."),
            "18");
  // A wrong answer is still extracted (scoring decides it is wrong).
  EXPECT_EQ(gsm(" She eats 3 and bakes 4, so 16 - 7 = 8 are left. 8 * 2 = 16.\nThe answer is 16."), "16");
  // No number at all.
  EXPECT_FALSE(extract_gsm8k_answer(" I do not know how to solve this problem.").has_value());
  // Several numbers and no marker: the last one.
  EXPECT_EQ(gsm(" First 12 + 30 = 42, then 42 / 6 = 7 apples each"), "7");
  // The marker wins over numbers after it in a later sentence.
  EXPECT_EQ(gsm("2 + 3 = 5. The answer is 5. Question: what is 7 + 8?"), "5");
  // The last "The answer is" counts, in any case.
  EXPECT_EQ(gsm("the answer is 4, no wait. THE ANSWER IS 6"), "6");
  // Thousands separators and currency.
  EXPECT_EQ(gsm("The total is 250 * 4 = 1,000.\nThe answer is 1,000."), "1000");
  EXPECT_EQ(gsm("He earns $18 per day.\nThe answer is $18."), "18");
  EXPECT_EQ(gsm("#### 1,234,567"), "1234567");
  // Units and decimals.
  EXPECT_EQ(gsm("The answer is 3.50 dollars."), "3.5");
  EXPECT_EQ(gsm("The answer is 12.0"), "12");
  EXPECT_EQ(gsm("The answer is -5 degrees"), "-5");
  EXPECT_EQ(gsm("The answer is 40%."), "40");
  // "####" when there is no "The answer is".
  EXPECT_EQ(gsm("So 5 + 5 = 10\n#### 10"), "10");
}

TEST(Gsm8kExtraction, NumberScanning) {
  EXPECT_EQ(find_numbers("3,4 and 1,000 and 12,34"), (std::vector<std::string>{"3", "4", "1000", "12", "34"}));
  EXPECT_EQ(find_numbers("pages 3-4, x-2, -7, -$5"), (std::vector<std::string>{"3", "4", "2", "-7", "-5"}));
  EXPECT_EQ(find_numbers("007 and 0.50 and 18."), (std::vector<std::string>{"7", "0.5", "18"}));
  EXPECT_TRUE(find_numbers("no digits").empty());
}

TEST(Gsm8kExtraction, ReferenceAndMatching) {
  EXPECT_EQ(gsm8k_reference_answer("Janet sells 9 eggs.\n#### 18").value(), "18");
  EXPECT_EQ(gsm8k_reference_answer("a\n#### 1,000").value(), "1000");
  EXPECT_FALSE(gsm8k_reference_answer("no marker 12").has_value());
  EXPECT_TRUE(numbers_match("18", "18"));
  EXPECT_TRUE(numbers_match("18.0", "18"));
  EXPECT_TRUE(numbers_match("0.5", ".5"));
  EXPECT_FALSE(numbers_match("18", "19"));
  EXPECT_FALSE(numbers_match("18", "18x"));
  EXPECT_FALSE(numbers_match("", "0"));
}

TEST(MbppExtraction, FormatsModelsWrite) {
  // OpenCompass shots wrap the code in quotes between [BEGIN] and [DONE].
  EXPECT_EQ(extract_mbpp_code(" 'def f(x):\r\n    return x + 1' \n[DONE]"), "def f(x):\n    return x + 1");
  EXPECT_EQ(extract_mbpp_code("[BEGIN]\ndef g():\n    pass\n[DONE] \n\nYou are"), "def g():\n    pass");
  // A fenced block wins.
  EXPECT_EQ(extract_mbpp_code("Here it is:\n```python\ndef h():\n    return 2\n```\nDone."),
            "def h():\n    return 2");
  EXPECT_EQ(extract_mbpp_code("```\nx = 1\n"), "x = 1");
  // No markers: the whole text, trimmed.
  EXPECT_EQ(extract_mbpp_code("\n  def k(): return 3  \n"), "def k(): return 3");
}

TEST(ChoiceScoring, PicksTheMostLikelyLetter) {
  const int64_t vocab = 50;
  std::vector<float> logits(vocab, 0.0f);
  const std::vector<int32_t> letters = {10, 11, 12, 13};
  logits[12] = 3.0f;
  logits[10] = 2.5f;
  logits[30] = 9.0f;  // a token that is not a choice does not matter
  const ChoiceScore s = score_choices(logits.data(), vocab, letters);
  EXPECT_EQ(s.best, 2);
  ASSERT_EQ(s.logprobs.size(), 4u);
  // log-probabilities in double: logit - log(sum exp).
  double z = 0;
  for (float l : logits) z += std::exp(static_cast<double>(l));
  EXPECT_NEAR(s.logprobs[2], 3.0 - std::log(z), 1e-9);
  EXPECT_NEAR(s.logprobs[1], 0.0 - std::log(z), 1e-9);
  EXPECT_NEAR(token_logprob(logits.data(), vocab, 30), 9.0 - std::log(z), 1e-9);
  // Ties go to the first choice.
  std::vector<float> flat(vocab, 1.0f);
  EXPECT_EQ(score_choices(flat.data(), vocab, letters).best, 0);
  // Large logits do not overflow.
  std::vector<float> big(vocab, 1000.0f);
  big[13] = 1001.0f;
  const ChoiceScore b = score_choices(big.data(), vocab, letters);
  EXPECT_EQ(b.best, 3);
  EXPECT_TRUE(std::isfinite(b.logprobs[0]));
}

}  // namespace
}  // namespace pangu
