// Turning a model's output into an answer: the final number of a GSM8K solution, the code of an MBPP
// completion, the letter a multiple-choice question's log-probabilities pick.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pangu {

// Every number in text, normalized: "$1,000.50" -> "1000.5", "-3" -> "-3", "18." -> "18". Commas count as
// thousands separators only between groups of three digits ("3,4" is two numbers).
std::vector<std::string> find_numbers(std::string_view text);

// GSM8K: the first number after the last "The answer is" (any case), else after the last "####", else the
// last number in the text; nullopt when there is none.
std::optional<std::string> extract_gsm8k_answer(std::string_view completion);
// The reference answer of a GSM8K record: the number after "#### ".
std::optional<std::string> gsm8k_reference_answer(std::string_view answer_field);
// Numeric equality of two normalized numbers (exact for integers, 1e-6 relative otherwise).
bool numbers_match(const std::string& a, const std::string& b);

// MBPP: the first ``` fenced block if there is one, else the text between [BEGIN] and [DONE] (either may be
// missing), with the quotes OpenCompass's shots wrap code in removed and CRLF made LF.
std::string extract_mbpp_code(std::string_view completion);

struct ChoiceScore {
  int best = -1;                 // index of the highest log-probability (the first on ties)
  std::vector<double> logprobs;  // one per choice
};
// Scores single-token choices from one position's logits.
ChoiceScore score_choices(const float* logits, int64_t vocab, const std::vector<int32_t>& choice_tokens);

}  // namespace pangu
