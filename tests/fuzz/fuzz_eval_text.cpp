// libFuzzer target: the parsers `pangu eval` feeds untrusted text to: MMLU/C-Eval CSV, results JSONL from
// an earlier run, and answer extraction from model output.
#include <cstddef>
#include <cstdint>
#include <string>

#include "eval/answers.h"
#include "eval/results.h"
#include "io/csv.h"
#include "pangu/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)pangu::parse_csv(text, "fuzz.csv");
  } catch (const pangu::Error&) {
  }
  try {
    size_t complete = 0;
    (void)pangu::parse_sample_records(text, "fuzz.jsonl", &complete);
    if (complete > size) __builtin_trap();
  } catch (const pangu::Error&) {
  }
  (void)pangu::find_numbers(text);
  if (const auto answer = pangu::extract_gsm8k_answer(text)) (void)pangu::numbers_match(*answer, "18");
  (void)pangu::gsm8k_reference_answer(text);
  (void)pangu::extract_mbpp_code(text);
  return 0;
}
