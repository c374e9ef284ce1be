// GGUF v2/v3, llama.cpp's single-file model format: a header, typed metadata key-values, tensor infos, then
// the tensor data, each tensor at an offset that is a multiple of `general.alignment` (32 by default).
// Dimensions are listed innermost first (ne[0] is a row's length), the reverse of safetensors' shapes.
//
// The parser reads untrusted files: every count, length, offset and the alignment is checked against the
// bytes that are there before it is used, and errors name the file, the key or tensor, what was expected and
// what was found.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pangu {

enum class GgufValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7, kString = 8, kArray = 9,
  kU64 = 10, kI64 = 11, kF64 = 12,
};

// ggml's tensor types (ggml.h); the ones llama.cpp writes into model files.
enum class GgmlType : uint32_t {
  kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ8_1 = 9, kQ2_K = 10,
  kQ3_K = 11, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kQ8_K = 15, kBF16 = 30,
};
std::string ggml_type_name(uint32_t type);  // "Q8_0", or "type 23" for one we do not know
// Values per block and bytes per block; nullopt for a type this reader does not handle.
struct GgmlBlock {
  int64_t values = 1;
  int64_t bytes = 4;
};
std::optional<GgmlBlock> ggml_block(uint32_t type);

struct GgufValue {
  GgufValueType type = GgufValueType::kU32;
  GgufValueType element_type = GgufValueType::kU32;  // arrays only
  // Scalars: integers and bools in `integer` (u64 above INT64_MAX is refused), floats in `real`.
  int64_t integer = 0;
  double real = 0;
  std::string text;
  // Arrays: integer and bool elements in `integers`, float elements in `reals`, strings in `texts`.
  std::vector<int64_t> integers;
  std::vector<double> reals;
  std::vector<std::string> texts;

  bool is_integer() const;  // an integer or bool scalar
  bool is_real() const;     // f32 / f64 scalar
  size_t array_size() const;

  static GgufValue of_string(std::string s);
  static GgufValue of_u32(uint32_t v);
  static GgufValue of_i32(int32_t v);
  static GgufValue of_u64(uint64_t v);
  static GgufValue of_f32(float v);
  static GgufValue of_bool(bool v);
  static GgufValue of_strings(std::vector<std::string> v);
  static GgufValue of_f32s(const std::vector<float>& v);
  static GgufValue of_i32s(const std::vector<int64_t>& v);
  static GgufValue of_u32s(const std::vector<int64_t>& v);
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> dims;  // ne: innermost first
  uint32_t type = 0;          // a GgmlType value, possibly one we do not handle
  uint64_t offset = 0;        // from the start of the data section
  size_t n_bytes = 0;         // checked to lie inside the file (types we know)
  const uint8_t* data = nullptr;

  int64_t numel() const;
  // The safetensors-order shape: dims reversed.
  std::vector<int64_t> shape() const;
};

// A parsed GGUF image. `data` points into the caller's bytes (a file mapping), which must outlive it.
struct GgufFile {
  std::string origin;  // the path, for errors
  uint32_t version = 3;
  uint64_t alignment = 32;
  std::vector<std::pair<std::string, GgufValue>> metadata;  // file order
  std::map<std::string, size_t> metadata_index;
  std::vector<GgufTensorInfo> tensors;  // file order
  std::map<std::string, size_t> tensor_index;

  const GgufValue* find(const std::string& key) const;
  const GgufTensorInfo* find_tensor(const std::string& name) const;
  // Typed getters: a missing key is nullopt / the fallback; a key of the wrong type is an error naming it.
  std::optional<int64_t> get_int(const std::string& key) const;
  std::optional<double> get_real(const std::string& key) const;  // integers are accepted too
  std::optional<std::string> get_string(const std::string& key) const;
  std::optional<bool> get_bool(const std::string& key) const;
  const std::vector<std::string>* get_strings(const std::string& key) const;
  const std::vector<int64_t>* get_ints(const std::string& key) const;
  std::vector<double> get_reals(const std::string& key) const;  // a float or integer array; empty if absent
  int64_t require_int(const std::string& key) const;
};

// Whether `data` starts with the GGUF magic.
bool is_gguf(const uint8_t* data, size_t size);
bool is_gguf_file(const std::string& path);
GgufFile parse_gguf(const uint8_t* data, size_t size, const std::string& origin);

// Writing: metadata in the given order, tensors laid out in order at aligned offsets. `fill` writes exactly
// n_bytes into dst. The file is written next to `path` under a temporary name and renamed into place.
struct GgufTensorToWrite {
  std::string name;
  std::vector<int64_t> dims;  // ne: innermost first
  uint32_t type = 0;
  size_t n_bytes = 0;
  std::function<void(uint8_t* dst)> fill;
};
void write_gguf(const std::string& path, const std::vector<std::pair<std::string, GgufValue>>& metadata,
                const std::vector<GgufTensorToWrite>& tensors, const std::function<void(size_t)>& on_tensor = {});
// Bytes of a tensor of `type` with these dims (whole blocks along dims[0]); nullopt for an unknown type or
// a row that is not a whole number of blocks.
std::optional<size_t> ggml_tensor_bytes(uint32_t type, const std::vector<int64_t>& dims);

}  // namespace pangu
