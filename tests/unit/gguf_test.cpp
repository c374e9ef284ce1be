// GGUF: the container (write, read, every way a file can be cut or forged), llama.cpp's block formats
// against an independent numpy reference (tests/reference/ggml_blocks_reference.py), the exact Q8_0 / Q4_0
// split into codes and scales, and the q/k row permutation of llama.cpp's converter.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "core/buffer.h"
#include "core/dtype.h"
#include "io/ggml_quants.h"
#include "io/gguf.h"
#include "io/gguf_model.h"
#include "pangu/error.h"
#include "pangu/thread_pool.h"
#include "quant/quantize.h"
#include "test_util.h"

namespace pangu {
namespace {

std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  return out;
}

TEST(GgmlBlocks, EveryTypeMatchesTheNumpyReference) {
  const auto golden = test::read_json(test::test_data("ggml_blocks_golden.json"));
  ASSERT_EQ(golden["cases"].size(), 10u);
  for (const auto& c : golden["cases"]) {
    const auto bytes = from_hex(c["hex"].get<std::string>());
    const int64_t n = c["n"].get<int64_t>();
    std::vector<float> out(static_cast<size_t>(n));
    ASSERT_TRUE(dequantize_ggml_row(c["type"].get<uint32_t>(), bytes.data(), n, out.data())) << c["name"];
    const auto expected = c["values"].get<std::vector<float>>();
    for (int64_t i = 0; i < n; ++i)
      ASSERT_NEAR(out[i], expected[i], 1e-6f * std::fabs(expected[i]) + 1e-9f) << c["name"] << " value " << i;
  }
}

TEST(GgmlBlocks, Q8_0AndQ4_0SplitIntoCodesAndScalesExactly) {
  std::mt19937 rng(7);
  const int64_t n = 96;
  // Q8_0: random codes, an f16 scale per block.
  std::vector<uint8_t> q8(n / 32 * 34), q4(n / 32 * 18);
  for (auto& b : q8) b = static_cast<uint8_t>(rng());
  for (auto& b : q4) b = static_cast<uint8_t>(rng());
  for (int64_t blk = 0; blk < n / 32; ++blk) {
    const uint16_t h = f32_to_f16(0.01f * static_cast<float>(blk + 1));
    std::memcpy(&q8[blk * 34], &h, 2);
    std::memcpy(&q4[blk * 18], &h, 2);
  }
  std::vector<float> reference(n), split(n), scales(n / 32);
  std::vector<int8_t> codes8(n);
  std::vector<uint8_t> codes4(n / 2);
  ASSERT_TRUE(dequantize_ggml_row(static_cast<uint32_t>(GgmlType::kQ8_0), q8.data(), n, reference.data()));
  split_q8_0_row(q8.data(), n, codes8.data(), scales.data());
  dequantize_row(reinterpret_cast<const uint8_t*>(codes8.data()), scales.data(), nullptr, n, QuantFormat::kInt8, 32,
                 split.data());
  EXPECT_EQ(split, reference);
  ASSERT_TRUE(dequantize_ggml_row(static_cast<uint32_t>(GgmlType::kQ4_0), q4.data(), n, reference.data()));
  split_q4_0_row(q4.data(), n, codes4.data(), scales.data());
  dequantize_row(codes4.data(), scales.data(), nullptr, n, QuantFormat::kInt4, 32, split.data());
  EXPECT_EQ(split, reference);
}

TEST(GgmlBlocks, Q8_0QuantizerIsLlamaCppsReference) {
  std::vector<float> x(32);
  for (int i = 0; i < 32; ++i) x[i] = 0.1f * static_cast<float>(i - 16);  // amax 1.6 at i = 0
  std::vector<uint8_t> block(34);
  quantize_q8_0_row(x.data(), 32, block.data());
  uint16_t h;
  std::memcpy(&h, block.data(), 2);
  EXPECT_EQ(h, f32_to_f16(1.6f / 127.0f));
  EXPECT_EQ(static_cast<int8_t>(block[2]), -127);
  std::vector<float> back(32);
  dequantize_ggml_row(static_cast<uint32_t>(GgmlType::kQ8_0), block.data(), 32, back.data());
  for (int i = 0; i < 32; ++i) EXPECT_NEAR(back[i], x[i], 1.6f / 127.0f / 2 + 1e-3f);
}

TEST(GgufModel, InterleavedRotaryRowIsTheConvertersPermutation) {
  // convert_hf_to_gguf: w.reshape(n_head, 2, rows / n_head / 2, ...).swapaxes(1, 2).reshape(w.shape)
  for (const auto& [rows, heads] : std::vector<std::pair<int64_t, int64_t>>{{64, 8}, {32, 4}, {256, 2}}) {
    const int64_t half = rows / heads / 2;
    std::vector<int64_t> stored(static_cast<size_t>(rows));
    // After the swap, stored row (h, j, s) holds source row (h, s, j).
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t j = 0; j < half; ++j)
        for (int64_t s = 0; s < 2; ++s) stored[(h * half + j) * 2 + s] = (h * 2 + s) * half + j;
    for (int64_t src = 0; src < rows; ++src) EXPECT_EQ(stored[interleaved_rotary_row(src, rows, heads)], src);
  }
}

TEST(GgufModel, TensorNamesMapBothWays) {
  EXPECT_EQ(hf_name_from_gguf("blk.12.ffn_down.weight"), "model.layers.12.mlp.down_proj.weight");
  EXPECT_EQ(hf_name_from_gguf("blk.0.attn_output.bias"), "model.layers.0.self_attn.o_proj.bias");
  EXPECT_EQ(hf_name_from_gguf("token_embd.weight"), "model.embed_tokens.weight");
  EXPECT_EQ(gguf_name_from_hf("model.layers.3.post_attention_layernorm.weight"), "blk.3.ffn_norm.weight");
  EXPECT_EQ(hf_name_from_gguf("blk.x.ffn_up.weight"), "");
  EXPECT_EQ(hf_name_from_gguf("blk.1.attn_q_norm.weight"), "");
}

// A small valid file: metadata of every type, a F32 vector and a Q8_0 matrix.
std::vector<std::pair<std::string, GgufValue>> sample_metadata() {
  std::vector<std::pair<std::string, GgufValue>> md;
  md.emplace_back("general.architecture", GgufValue::of_string("llama"));
  md.emplace_back("a.u32", GgufValue::of_u32(4000000000u));
  md.emplace_back("a.i32", GgufValue::of_i32(-5));
  md.emplace_back("a.u64", GgufValue::of_u64(1ull << 40));
  md.emplace_back("a.f32", GgufValue::of_f32(0.25f));
  md.emplace_back("a.bool", GgufValue::of_bool(true));
  md.emplace_back("a.strings", GgufValue::of_strings({"x", "", "\xE2\x96\x81y"}));
  md.emplace_back("a.floats", GgufValue::of_f32s({1.5f, -2.0f}));
  md.emplace_back("a.ints", GgufValue::of_i32s({3, -4, 5}));
  return md;
}

std::vector<GgufTensorToWrite> sample_tensors() {
  std::vector<GgufTensorToWrite> t;
  t.push_back({"v", {3}, static_cast<uint32_t>(GgmlType::kF32), 12, [](uint8_t* dst) {
                 const float v[3] = {1, 2, 3};
                 std::memcpy(dst, v, 12);
               }});
  t.push_back({"m", {64, 2}, static_cast<uint32_t>(GgmlType::kQ8_0), 4 * 34, [](uint8_t* dst) {
                 std::vector<float> x(128);
                 std::iota(x.begin(), x.end(), -64.0f);
                 for (int r = 0; r < 2; ++r) quantize_q8_0_row(x.data() + 64 * r, 64, dst + 68 * r);
               }});
  return t;
}

TEST(Gguf, WriteThenParseRoundTrips) {
  test::TempDir tmp;
  const std::string path = tmp / "x.gguf";
  write_gguf(path, sample_metadata(), sample_tensors());
  const MappedFile file(path);
  const GgufFile f = parse_gguf(file.data(), file.size(), path);
  EXPECT_EQ(f.version, 3u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_int("a.u32"), 4000000000ll);
  EXPECT_EQ(f.get_int("a.i32"), -5);
  EXPECT_EQ(f.get_int("a.u64"), int64_t{1} << 40);
  EXPECT_EQ(f.get_real("a.f32"), 0.25);
  EXPECT_EQ(f.get_bool("a.bool"), true);
  EXPECT_EQ(*f.get_strings("a.strings"), (std::vector<std::string>{"x", "", "\xE2\x96\x81y"}));
  EXPECT_EQ(f.get_reals("a.floats"), (std::vector<double>{1.5, -2.0}));
  EXPECT_EQ(*f.get_ints("a.ints"), (std::vector<int64_t>{3, -4, 5}));
  ASSERT_EQ(f.tensors.size(), 2u);
  const GgufTensorInfo* m = f.find_tensor("m");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->shape(), (std::vector<int64_t>{2, 64}));
  EXPECT_EQ(m->n_bytes, 4u * 34);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(m->data) % 32, reinterpret_cast<uintptr_t>(file.data()) % 32);
  std::vector<float> row(64);
  dequantize_ggml_row(m->type, m->data + 68, 64, row.data());
  EXPECT_NEAR(row[63], 63.0f, 0.5f);
  // A key of another type is named in the error.
  EXPECT_THROW(f.get_string("a.u32"), Error);
  // Written under a temporary name and renamed: nothing else is left beside it.
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(tmp.path())) ++entries;
  EXPECT_EQ(entries, 1u);
}

void expect_error(const std::vector<uint8_t>& bytes, const std::string& needle) {
  try {
    parse_gguf(bytes.data(), bytes.size(), "forged.gguf");
    ADD_FAILURE() << "no error; expected one mentioning " << needle;
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("forged.gguf"), std::string::npos) << what;
    EXPECT_NE(what.find(needle), std::string::npos) << what;
  }
}

TEST(Gguf, EveryTruncationIsAClearError) {
  test::TempDir tmp;
  const std::string path = tmp / "x.gguf";
  write_gguf(path, sample_metadata(), sample_tensors());
  const std::string full = test::read_text(path);
  // The writer pads the last tensor to the alignment; a file may end right after its data.
  const auto* start = reinterpret_cast<const uint8_t*>(full.data());
  const GgufFile f = parse_gguf(start, full.size(), path);
  const size_t data_end = static_cast<size_t>(f.tensors.back().data - start) + f.tensors.back().n_bytes;
  EXPECT_NO_THROW(parse_gguf(start, data_end, path));
  for (size_t n = 0; n < data_end; ++n) {
    const std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(parse_gguf(cut.data(), cut.size(), "cut.gguf"), Error) << n << " of " << full.size() << " bytes";
  }
}

// Little-endian builder for hand-made headers.
struct Bytes {
  std::vector<uint8_t> b;
  template <typename T>
  Bytes& put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    b.insert(b.end(), p, p + sizeof(T));
    return *this;
  }
  Bytes& str(const std::string& s) {
    put<uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
};

Bytes header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
  Bytes h;
  h.put<uint32_t>(0x46554747).put<uint32_t>(version).put<uint64_t>(n_tensors).put<uint64_t>(n_kv);
  return h;
}

TEST(Gguf, ForgedFieldsAreNamed) {
  Bytes bad_magic;
  bad_magic.put<uint32_t>(0x12345678).put<uint32_t>(3);
  expect_error(bad_magic.b, "not a GGUF file");
  expect_error(header(0, 0, 1).b, "version 1");
  // Counts that cannot fit in the bytes that follow.
  expect_error(header(uint64_t{1} << 60, 0).b, "tensor count");
  expect_error(header(0, uint64_t{1} << 60).b, "metadata count");
  // A string longer than the file.
  Bytes long_key = header(0, 1);
  long_key.put<uint64_t>(uint64_t{1} << 62);
  expect_error(long_key.b, "bytes remain");
  // An unknown value type, a nested array, an array longer than the file.
  Bytes bad_type = header(0, 1);
  bad_type.str("k").put<uint32_t>(99);
  expect_error(bad_type.b, "value type 99");
  Bytes nested = header(0, 1);
  nested.str("k").put<uint32_t>(9).put<uint32_t>(9).put<uint64_t>(1);
  expect_error(nested.b, "array of array");
  Bytes long_array = header(0, 1);
  long_array.str("k").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(uint64_t{1} << 40);
  expect_error(long_array.b, "array length");
  Bytes bad_bool = header(0, 1);
  bad_bool.str("k").put<uint32_t>(7).put<uint8_t>(2);
  expect_error(bad_bool.b, "bool value 2");
  Bytes twice = header(0, 2);
  twice.str("k").put<uint32_t>(4).put<uint32_t>(1).str("k").put<uint32_t>(4).put<uint32_t>(2);
  expect_error(twice.b, "appears twice");
  Bytes alignment = header(0, 1);
  alignment.str("general.alignment").put<uint32_t>(4).put<uint32_t>(24);
  expect_error(alignment.b, "power of two");
  // Tensor infos: dimensions, alignment of the offset, data past the end, a row that is not whole blocks.
  auto tensor = [](uint32_t n_dims, uint64_t d0, uint32_t type, uint64_t offset) {
    Bytes t = header(1, 0);
    t.str("w").put<uint32_t>(n_dims);
    for (uint32_t i = 0; i < n_dims; ++i) t.put<uint64_t>(d0);
    t.put<uint32_t>(type).put<uint64_t>(offset);
    while (t.b.size() % 32) t.b.push_back(0);
    return t.b;
  };
  expect_error(tensor(5, 2, 0, 0), "5 dimensions");
  expect_error(tensor(1, 0, 0, 0), "dimension 0 = 0");
  expect_error(tensor(1, 4, 0, 8), "not a multiple of the alignment");
  expect_error(tensor(1, 4, 0, 0), "runs past the end");
  expect_error(tensor(1, 33, 8, 0), "not a multiple of its block of 32");
  expect_error(tensor(2, uint64_t{1} << 40, 0, 0), "more than any file holds");
  expect_error(tensor(1, uint64_t{1} << 39, 0, 0), "runs past the end");
}

TEST(GgufModel, AnUnsupportedTensorTypeIsNamed) {
  test::TempDir tmp;
  const std::string path = tmp / "iq.gguf";
  std::vector<std::pair<std::string, GgufValue>> md;
  md.emplace_back("general.architecture", GgufValue::of_string("llama"));
  md.emplace_back("llama.embedding_length", GgufValue::of_u32(32));
  md.emplace_back("llama.block_count", GgufValue::of_u32(1));
  md.emplace_back("llama.attention.head_count", GgufValue::of_u32(4));
  md.emplace_back("llama.feed_forward_length", GgufValue::of_u32(64));
  std::vector<GgufTensorToWrite> tensors;
  tensors.push_back({"token_embd.weight", {32, 10}, static_cast<uint32_t>(GgmlType::kF32), 32 * 10 * 4,
                     [](uint8_t* dst) { std::memset(dst, 0, 32 * 10 * 4); }});
  write_gguf(path, md, tensors);
  // Patch the tensor's type to IQ2_XXS (16): the writer refuses unknown types, a forger does not.
  std::string bytes = test::read_text(path);
  const size_t at = bytes.find("token_embd.weight") + 17 + 4 + 16;
  const uint32_t iq2 = 16;
  std::memcpy(&bytes[at], &iq2, 4);
  test::write_text(path, bytes);
  ThreadPool pool(1);
  try {
    open_gguf_model(path, pool);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("token_embd.weight"), std::string::npos) << what;
    EXPECT_NE(what.find("IQ2_XXS"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace pangu
