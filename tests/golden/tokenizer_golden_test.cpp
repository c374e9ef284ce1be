// Tokenizers against reference encodings: Qwen3 byte-level BPE (../shared goldens, made with a port of
// Hugging Face tokenizers) and Llama-2 SentencePiece (tests/reference/make_sentencepiece_golden.py).
#include <gtest/gtest.h>

#include <fstream>

#include "pangu/tokenizer.h"
#include "test_util.h"

namespace pangu {
namespace {

using test::shared;

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> rows;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

TEST(TokenizerGolden, Qwen3EncodesAndDecodesEveryText) {
  auto tok = load_tokenizer_json(shared("tokenizers/qwen3/tokenizer.json"));
  const auto rows = read_jsonl(shared("tokenizers/qwen3/golden.jsonl"));
  ASSERT_GE(rows.size(), 19u);
  for (const auto& row : rows) {
    const std::string text = row["text"];
    SCOPED_TRACE(text);
    const auto ids = tok->encode(text, /*add_special=*/false);
    EXPECT_EQ(ids, row["ids"].get<std::vector<int32_t>>());
    EXPECT_EQ(tok->decode(row["ids"].get<std::vector<int32_t>>()), text);
  }
}

TEST(TokenizerGolden, Qwen3SpecialTokensAndNoBos) {
  auto tok = load_tokenizer_json(shared("tokenizers/qwen3/tokenizer.json"));
  EXPECT_EQ(tok->encode("<|im_start|>", true), std::vector<int32_t>{151644});
  EXPECT_TRUE(tok->is_special(151645));
  EXPECT_EQ(tok->eos_id(), std::optional<int32_t>(151645));  // tokenizer_config: eos_token <|im_end|>
}

TEST(TokenizerGolden, Llama2SentencePieceMatchesPythonBindings) {
  auto tok = load_sentencepiece(shared("tokenizers/llama2/tokenizer.model"));
  const auto rows = read_jsonl(test::test_data("llama2_sentencepiece_golden.jsonl"));
  ASSERT_GE(rows.size(), 10u);
  for (const auto& row : rows) {
    const std::string text = row["text"];
    SCOPED_TRACE(text);
    const auto want = row["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok->encode(text, /*add_special=*/false), want);
    EXPECT_EQ(tok->decode(want), row["decoded"].get<std::string>());
    const auto pieces = row["pieces"].get<std::vector<std::string>>();
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(tok->id_to_piece(want[i]), pieces[i]);
  }
  // BOS is added by default (LlamaTokenizer), and "<s>" in text is the BOS token.
  EXPECT_EQ(tok->encode("Hi").front(), 1);
  EXPECT_EQ(tok->encode("<s>Hi", false).front(), 1);
}

TEST(TokenizerGolden, ZhPoemCharacterLevelRoundTrip) {
  auto tok = load_tokenizer(shared("models/zh-poem-750K"));
  ASSERT_TRUE(tok);
  const std::string text = "江上春云起，江南水僻春。";
  const auto ids = tok->encode(text, false);
  EXPECT_EQ(ids.size(), 12u);  // one token per character
  EXPECT_EQ(tok->decode(ids), text);
  EXPECT_EQ(tok->encode(text, true).front(), 1);  // the post-processor template adds <s>
}

}  // namespace
}  // namespace pangu
