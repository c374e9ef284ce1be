#include "eval/answers.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "eval/log_prob.h"

namespace pangu {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Case-insensitive rfind of an ASCII needle.
size_t rfind_ascii_nocase(std::string_view text, std::string_view needle) {
  if (needle.size() > text.size()) return std::string_view::npos;
  for (size_t i = text.size() - needle.size() + 1; i-- > 0;) {
    bool same = true;
    for (size_t j = 0; j < needle.size() && same; ++j)
      same = std::tolower(static_cast<unsigned char>(text[i + j])) ==
             std::tolower(static_cast<unsigned char>(needle[j]));
    if (same) return i;
  }
  return std::string_view::npos;
}

// Removes a fraction part made only of zeros and a trailing dot; "-0" becomes "0".
std::string normalize_number(std::string digits, bool negative) {
  const size_t dot = digits.find('.');
  if (dot != std::string::npos) {
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    if (digits.back() == '.') digits.pop_back();
  }
  size_t lead = 0;  // leading zeros of the integer part ("007" -> "7", "0.5" stays)
  while (lead + 1 < digits.size() && digits[lead] == '0' && is_digit(digits[lead + 1])) ++lead;
  digits.erase(0, lead);
  if (negative && digits != "0") return "-" + digits;
  return digits;
}

}  // namespace

std::vector<std::string> find_numbers(std::string_view text) {
  std::vector<std::string> numbers;
  size_t i = 0;
  while (i < text.size()) {
    if (!is_digit(text[i])) {
      ++i;
      continue;
    }
    // A minus sign right before the digits (after "$" too: "-$5") makes it negative, unless it joins two
    // words or numbers ("3-4", "x-2").
    bool negative = false;
    size_t back = i;
    if (back > 0 && text[back - 1] == '$') --back;
    if (back > 0 && text[back - 1] == '-') {
      const bool joined = back > 1 && std::isalnum(static_cast<unsigned char>(text[back - 2]));
      negative = !joined;
    }
    std::string digits;
    while (i < text.size()) {
      if (is_digit(text[i])) {
        digits += text[i++];
      } else if (text[i] == ',' && i + 3 < text.size() && is_digit(text[i + 1]) && is_digit(text[i + 2]) &&
                 is_digit(text[i + 3]) && (i + 4 == text.size() || !is_digit(text[i + 4]))) {
        ++i;  // a thousands separator: exactly three digits follow
      } else {
        break;
      }
    }
    if (i + 1 < text.size() && text[i] == '.' && is_digit(text[i + 1])) {
      digits += text[i++];
      while (i < text.size() && is_digit(text[i])) digits += text[i++];
    }
    numbers.push_back(normalize_number(std::move(digits), negative));
  }
  return numbers;
}

std::optional<std::string> extract_gsm8k_answer(std::string_view completion) {
  for (std::string_view marker : {std::string_view("the answer is"), std::string_view("####")}) {
    const size_t at = rfind_ascii_nocase(completion, marker);
    if (at == std::string_view::npos) continue;
    const auto after = find_numbers(completion.substr(at + marker.size()));
    if (!after.empty()) return after.front();
  }
  const auto all = find_numbers(completion);
  if (all.empty()) return std::nullopt;
  return all.back();
}

std::optional<std::string> gsm8k_reference_answer(std::string_view answer_field) {
  const size_t at = answer_field.rfind("####");
  if (at == std::string_view::npos) return std::nullopt;
  const auto numbers = find_numbers(answer_field.substr(at + 4));
  if (numbers.empty()) return std::nullopt;
  return numbers.front();
}

bool numbers_match(const std::string& a, const std::string& b) {
  if (a == b) return true;
  char* end_a = nullptr;
  char* end_b = nullptr;
  const double x = std::strtod(a.c_str(), &end_a);
  const double y = std::strtod(b.c_str(), &end_b);
  if (*end_a != '\0' || *end_b != '\0' || a.empty() || b.empty()) return false;
  return std::fabs(x - y) <= 1e-6 * std::max(1.0, std::fabs(y));
}

std::string extract_mbpp_code(std::string_view completion) {
  std::string_view code = completion;
  const size_t fence = completion.find("```");
  if (fence != std::string_view::npos) {
    size_t start = completion.find('\n', fence);  // skip the language tag
    start = start == std::string_view::npos ? completion.size() : start + 1;
    const size_t close = completion.find("```", start);
    code = completion.substr(start, close == std::string_view::npos ? std::string_view::npos : close - start);
  } else {
    const size_t begin = code.find("[BEGIN]");
    if (begin != std::string_view::npos) code = code.substr(begin + 7);
    const size_t done = code.find("[DONE]");
    if (done != std::string_view::npos) code = code.substr(0, done);
  }
  auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!code.empty() && is_space(code.front())) code.remove_prefix(1);
  while (!code.empty() && is_space(code.back())) code.remove_suffix(1);
  if (code.size() >= 2 && (code.front() == '\'' || code.front() == '"') && code.back() == code.front()) {
    code.remove_prefix(1);
    code.remove_suffix(1);
  }
  std::string out;
  out.reserve(code.size());
  for (size_t i = 0; i < code.size(); ++i)
    if (!(code[i] == '\r' && i + 1 < code.size() && code[i + 1] == '\n')) out += code[i];
  return out;
}

ChoiceScore score_choices(const float* logits, int64_t vocab, const std::vector<int32_t>& choice_tokens) {
  const double lse = log_normalizer(logits, vocab);
  ChoiceScore score;
  for (size_t c = 0; c < choice_tokens.size(); ++c) {
    score.logprobs.push_back(static_cast<double>(logits[choice_tokens[c]]) - lse);
    if (score.best < 0 || score.logprobs[c] > score.logprobs[static_cast<size_t>(score.best)])
      score.best = static_cast<int>(c);
  }
  return score;
}

}  // namespace pangu
