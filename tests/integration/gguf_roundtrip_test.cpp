// GGUF round trip through `pangu export` and the reader: the shared real models give the same logits
// (f32 and bf16 exactly, Q8_0 within its quantization error) and the same tokenization; tokenizers stored
// only as GGUF's own fields (SentencePiece scores, byte-level BPE merges) encode as their sources' goldens.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "io/gguf.h"
#include "io/gguf_tokenizer.h"
#include "pangu/model.h"
#include "pangu/thread_pool.h"
#include "pangu/tokenizer.h"
#include "test_util.h"

namespace pangu {
namespace {

struct Logits {
  std::vector<float> values;
  int64_t vocab = 0;
};

Logits logits_of(const std::string& path, const std::vector<int32_t>& ids) {
  auto model = Model::load(path);
  ThreadPool pool(2);
  Session s(*model, 64, pool);
  const float* l = s.forward(ids, true);
  const int64_t vocab = model->config().vocab_size;
  return {{l, l + static_cast<int64_t>(ids.size()) * vocab}, vocab};
}

std::string export_model(const test::TempDir& tmp, const std::string& src, const std::string& type) {
  const std::string out = tmp / (std::filesystem::path(src).filename().string() + "-" + type + ".gguf");
  const auto r = test::run_pangu("export -m " + src + " -o " + out + " --type " + type);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return out;
}

const std::vector<int32_t> kIds = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315};

TEST(GgufRoundTrip, FloatExportsGiveTheSameLogits) {
  test::TempDir tmp;
  // f32 sources exported as f32, the bf16 one as bf16: the same values, so the same logits bit for bit.
  for (const auto& [model, type] : std::vector<std::pair<std::string, std::string>>{
           {"stories260K", "f32"}, {"zh-poem-750K", "f32"}, {"tiny-pangu-random", "bf16"}}) {
    const std::string src = test::shared("models/" + model);
    const std::string file = export_model(tmp, src, type);
    const Logits a = logits_of(src, kIds), b = logits_of(file, kIds);
    ASSERT_EQ(a.vocab, b.vocab) << model;
    EXPECT_EQ(a.values, b.values) << model << " exported as " << type;
  }
}

TEST(GgufRoundTrip, Q8_0IsExactlyItsCodesAndWithinItsQuantizationError) {
  test::TempDir tmp;
  for (const std::string model : {"stories260K", "zh-poem-750K", "tiny-pangu-random"}) {
    const std::string src = test::shared("models/" + model);
    const std::string q8 = export_model(tmp, src, "q8_0");
    // The Q8_0 file read back, and the same file dequantized to f32 by another export: the codes and
    // scales were taken over exactly, so only the activations' int16 rounding separates them.
    const std::string dequantized = tmp / (model + "-from-q8.gguf");
    const auto r = test::run_pangu("export -m " + q8 + " -o " + dequantized + " --type f32");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const Logits q = logits_of(q8, kIds), d = logits_of(dequantized, kIds), s = logits_of(src, kIds);
    double max_exactness = 0, max_quant = 0, scale = 0;
    size_t top1_same = 0;
    for (size_t i = 0; i < q.values.size(); ++i) {
      max_exactness = std::max(max_exactness, std::fabs(static_cast<double>(q.values[i]) - d.values[i]));
      max_quant = std::max(max_quant, std::fabs(static_cast<double>(q.values[i]) - s.values[i]));
      scale = std::max(scale, std::fabs(static_cast<double>(s.values[i])));
    }
    for (size_t t = 0; t < kIds.size(); ++t) {
      auto row = [&](const Logits& l) { return l.values.begin() + static_cast<std::ptrdiff_t>(t * l.vocab); };
      const auto argmax = [&](const Logits& l) { return std::max_element(row(l), row(l) + l.vocab) - row(l); };
      top1_same += argmax(q) == argmax(s);
    }
    EXPECT_LT(max_exactness, 2e-3 * scale) << model;
    EXPECT_LT(max_quant, 0.1 * scale) << model;
    EXPECT_GE(top1_same, kIds.size() - 2) << model;
  }
}

const std::vector<std::string> kTexts = {
    "Once upon a time, there was a little girl named Lily.", "  two  spaces\tand a tab\nnew line",
    "<s>special</s> tokens in text", "床前明月光，疑是地上霜。", "numbers 1234567890 and émojis 🙂", ""};

TEST(GgufRoundTrip, TokenizersEncodeAndDecodeAsTheirSources) {
  test::TempDir tmp;
  for (const std::string model : {"stories260K", "zh-poem-750K"}) {
    const std::string src = test::shared("models/" + model);
    const std::string file = export_model(tmp, src, "f32");
    const auto a = load_tokenizer(src), b = load_tokenizer(file);
    ASSERT_TRUE(a && b) << model;
    for (const std::string& text : kTexts) {
      EXPECT_EQ(a->encode(text), b->encode(text)) << model << ": " << text;
      EXPECT_EQ(a->encode(text, false), b->encode(text, false)) << model << ": " << text;
      EXPECT_EQ(a->decode(a->encode(text)), b->decode(a->encode(text))) << model << ": " << text;
    }
    EXPECT_EQ(a->bos_id(), b->bos_id());
    EXPECT_EQ(a->eos_id(), b->eos_id());
  }
  // A model without a tokenizer has none in its file either.
  EXPECT_EQ(load_tokenizer(export_model(tmp, test::shared("models/tiny-pangu-random"), "f32")), nullptr);
}

// Only GGUF's own fields (what llama.cpp's converters write), no tokenizer.huggingface.json.
std::unique_ptr<Tokenizer> via_gguf_fields(const test::TempDir& tmp, const std::string& dir, int64_t vocab) {
  GgufTokenizerOptions options;
  options.vocab_size = vocab;
  options.embed_hf_json = false;
  const std::string path = tmp / "tokenizer.gguf";
  write_gguf(path, gguf_tokenizer_metadata(dir, options), {});
  return load_gguf_tokenizer(path);
}

// Every line of a golden file ({"text", "ids"}, encoded without special tokens) encodes to its ids.
void expect_golden_encodings(const Tokenizer& t, const std::string& golden) {
  std::ifstream in(golden);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(t.encode(j["text"].get<std::string>(), false), j["ids"].get<std::vector<int32_t>>()) << j["text"];
    ++n;
  }
  EXPECT_GT(n, 10) << golden;
}

TEST(GgufRoundTrip, SentencePieceFieldsEncodeLikeLlama2sGoldens) {
  test::TempDir tmp;
  const auto t = via_gguf_fields(tmp, test::shared("tokenizers/llama2"), 32000);
  ASSERT_TRUE(t);
  expect_golden_encodings(*t, test::test_data("llama2_sentencepiece_golden.jsonl"));
}

TEST(GgufRoundTrip, ByteLevelBpeFieldsEncodeLikeQwen3sGoldens) {
  test::TempDir tmp;
  const auto t = via_gguf_fields(tmp, test::shared("tokenizers/qwen3"), 151669);
  ASSERT_TRUE(t);
  expect_golden_encodings(*t, test::shared("tokenizers/qwen3/golden.jsonl"));
}

TEST(GgufRoundTrip, AW8A16ModelExportsToQ8_0WithItsRequantizationError) {
  test::TempDir tmp;
  const std::string w8 = tmp / "w8";
  ASSERT_EQ(test::run_pangu("quantize -m " + test::shared("models/stories260K") + " -o " + w8).exit_code, 0);
  const std::string out = tmp / "w8.gguf";
  const auto r = test::run_pangu("export -m " + w8 + " -o " + out + " --type q8_0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("re-quantized"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("relative RMS change"), std::string::npos) << r.err;
  // An existing output is not replaced without --force; a bad type is named.
  EXPECT_NE(test::run_pangu("export -m " + w8 + " -o " + out).exit_code, 0);
  const auto bad = test::run_pangu("export -m " + w8 + " -o " + (tmp / "x.gguf") + " --type q4_k");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--type q4_k"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace pangu
