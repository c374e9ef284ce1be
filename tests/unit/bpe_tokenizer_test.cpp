// tokenizer.json BPE on small hand-written vocabularies, with expectations worked out by hand from the
// Hugging Face tokenizers rules (merge order by rank, byte fallback, Metaspace normalisation and decoding).
#include <gtest/gtest.h>

#include "pangu/tokenizer.h"

namespace pangu {
namespace {

// Llama style: Prepend("▁") + Replace(" ", "▁") normaliser, byte_fallback, decoder strips the leading space.
const char* kLlamaStyle = R"({
  "added_tokens": [{"id": 0, "content": "<unk>", "special": true}, {"id": 1, "content": "<s>", "special": true}],
  "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                 {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
  "pre_tokenizer": null,
  "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}}], "special_tokens": {"<s>": {"id": "<s>", "ids": [1]}}},
  "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
              {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
  "model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": true,
            "vocab": {"<unk>": 0, "<s>": 1, "<0xC3>": 2, "<0xA9>": 3, "▁": 4, "h": 5, "i": 6, "▁h": 7, "▁hi": 8,
                      "t": 9, "▁t": 10},
            "merges": ["▁ h", "▁h i", "▁ t"]}
})";

TEST(BpeTokenizer, LlamaStyleMetaspaceAndByteFallback) {
  auto tok = parse_tokenizer_json(kLlamaStyle, "llama-style");
  // "hi hit é": ▁hi ▁hi t ▁ <0xC3> <0xA9>
  EXPECT_EQ(tok->encode("hi hit é", true), (std::vector<int32_t>{1, 8, 8, 9, 4, 2, 3}));
  EXPECT_EQ(tok->decode({1, 8, 8, 9, 4, 2, 3}, true), "hi hit é");
  // Unknown characters without a byte piece become <unk>.
  EXPECT_EQ(tok->encode("x", false), (std::vector<int32_t>{4, 0}));
}

// Byte level: "Ġ" stands for the space byte; merge ranks decide between competing pairs.
const char* kByteLevel = R"({
  "normalizer": null,
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
  "decoder": {"type": "ByteLevel"},
  "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "Ġ": 3, "ab": 4, "bc": 5, "Ġa": 6, "abc": 7},
            "merges": ["b c", "a b", "Ġ a", "a bc"]}
})";

TEST(BpeTokenizer, ByteLevelMergesByRank) {
  auto tok = parse_tokenizer_json(kByteLevel, "byte-level");
  // "abc": rank 0 merges b+c first, then a+bc (rank 3) -> abc. " ab": words "Ġab" -> Ġa (rank 2) beats a b
  // (rank 1)? No: a+b has rank 1 < Ġ+a rank 2, so "Ġ" "ab".
  EXPECT_EQ(tok->encode("abc", false), (std::vector<int32_t>{7}));
  EXPECT_EQ(tok->encode("abc ab", false), (std::vector<int32_t>{7, 3, 4}));
  EXPECT_EQ(tok->decode({7, 3, 4}), "abc ab");
}

}  // namespace
}  // namespace pangu
