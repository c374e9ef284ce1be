// Streaming decode, stop strings and chat templates.
#include <gtest/gtest.h>

#include "pangu/chat.h"
#include "pangu/error.h"
#include "pangu/tokenizer.h"
#include "test_util.h"

namespace pangu {
namespace {

bool valid_utf8(const std::string& s) {
  return utf8_sanitize(s) == s;
}

TEST(Utf8, CompletePrefixHoldsAnIncompleteTail) {
  const std::string euro = "\xE2\x82\xAC";
  // Built with append: GCC 12's -Wrestrict misfires on "a" + std::string&& at -O3 (a known false positive).
  std::string a_and_half_euro = "a";
  a_and_half_euro.append(euro, 0, 2);
  EXPECT_EQ(utf8_complete_prefix(a_and_half_euro), 1u);
  EXPECT_EQ(utf8_complete_prefix("a" + euro), 4u);
  EXPECT_EQ(utf8_sanitize("a\xFF"
                          "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(utf8_sanitize("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  // One U+FFFD per maximal invalid subpart, as Python's errors="replace" does.
  EXPECT_EQ(utf8_sanitize("\xE1\x9A"), "\xEF\xBF\xBD");
  EXPECT_EQ(utf8_sanitize("\xE1\x9Ax"), "\xEF\xBF\xBDx");
  EXPECT_EQ(utf8_sanitize("\xF0\x9F\x98"), "\xEF\xBF\xBD");
}

TEST(StreamDecoder, ByteLevelEmojiSplitAcrossTokensNeverBreaks) {
  auto tok = load_tokenizer_json(test::shared("tokenizers/qwen3/tokenizer.json"));
  const std::string text = "emoji 😀🚀 and 中文，ＦＵＬＬ";
  const auto ids = tok->encode(text, false);
  StreamDecoder stream(*tok);
  std::string out;
  for (int32_t id : ids) {
    const std::string piece = stream.push(id);
    EXPECT_TRUE(valid_utf8(piece)) << "token " << id;
    out += piece;
  }
  out += stream.flush();
  EXPECT_EQ(out, text);
}

TEST(StreamDecoder, SentencePieceByteFallbackPieces) {
  auto tok = load_sentencepiece(test::shared("tokenizers/llama2/tokenizer.model"));
  const std::string text = "Runes ᚠᛇᚻ and 😀";
  const auto ids = tok->encode(text, true);
  StreamDecoder stream(*tok, true, /*at_sequence_start=*/true);
  std::string out;
  for (int32_t id : ids) {
    const std::string piece = stream.push(id);
    EXPECT_TRUE(valid_utf8(piece));
    out += piece;
  }
  EXPECT_EQ(out + stream.flush(), text);
}

TEST(StreamDecoder, FlushReplacesADanglingPartialCharacter) {
  auto tok = load_tokenizer_json(test::shared("tokenizers/qwen3/tokenizer.json"));
  // Qwen3 splits each rune of "ᚠᛇᚻ" over two byte-level tokens (2 bytes + 1 byte of a 3-byte character).
  const auto ids = tok->encode("ᚠᛇᚻ", false);
  ASSERT_EQ(ids.size(), 6u);
  StreamDecoder stream(*tok);
  EXPECT_EQ(stream.push(ids[0]), "");         // incomplete character: held back
  EXPECT_EQ(stream.flush(), "\xEF\xBF\xBD");  // dangling at the end: U+FFFD, never raw bytes
  const std::string first = stream.push(ids[0]);
  EXPECT_EQ(first + stream.push(ids[1]), "ᚠ");
}

TEST(ChatTemplate, PanguInsertsEmptySystemTurn) {
  EXPECT_EQ(render_chat(ChatTemplate::kPangu, {{"user", "你好"}}),
            "[unused9]系统：[unused10][unused9]用户：你好[unused10][unused9]助手：");
  EXPECT_EQ(
      render_chat(ChatTemplate::kPangu, {{"system", "S"}, {"user", "U"}, {"assistant", "A"}, {"user", "V"}}),
      "[unused9]系统：S[unused10][unused9]用户：U[unused10][unused9]助手：A[unused10][unused9]用户：V["
      "unused10]"
      "[unused9]助手：");
}

TEST(ChatTemplate, ChatMLAndLlama2) {
  EXPECT_EQ(render_chat(ChatTemplate::kChatML, {{"system", "S"}, {"user", "U"}}),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(
      render_chat(ChatTemplate::kLlama2, {{"system", "S"}, {"user", "U"}, {"assistant", "A"}, {"user", "V"}}),
      "<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nU [/INST] A </s><s>[INST] V [/INST]");
  EXPECT_THROW(render_chat(ChatTemplate::kRaw, {{"robot", "x"}}), Error);
  EXPECT_EQ(chat_template_from_name("chatml"), ChatTemplate::kChatML);
  EXPECT_FALSE(chat_template_from_name("jinja"));
}

TEST(ChatTemplate, ChatMLSpecialTokensEncodeAsSingleIds) {
  auto tok = load_tokenizer_json(test::shared("tokenizers/qwen3/tokenizer.json"));
  const auto ids = tok->encode(render_chat(ChatTemplate::kChatML, {{"user", "hi"}}), false);
  EXPECT_EQ(ids.front(), 151644);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 151645), 1);
}

}  // namespace
}  // namespace pangu
