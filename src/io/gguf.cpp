#include "io/gguf.h"

#include <cstring>
#include <fstream>
#include <limits>

#include "core/buffer.h"
#include "core/tensor.h"
#include "io/staged_dir.h"
#include "pangu/error.h"

namespace pangu {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
// Far above any real file (a vocabulary of a few hundred thousand strings, a few thousand tensors), low
// enough that a forged count cannot make the parser reserve gigabytes before it finds the file too short.
constexpr uint64_t kMaxStringBytes = uint64_t{1} << 30;
constexpr int kMaxDims = 4;

std::string value_type_name(uint32_t t) {
  static const char* const kNames[] = {"u8",  "i8",     "u16",   "i16", "u32", "i32", "f32",
                                       "bool", "string", "array", "u64", "i64", "f64"};
  return t < 13 ? kNames[t] : fmt::format("type {}", t);
}

// A bounds-checked little-endian reader over the file's bytes.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size, const std::string& origin) : data_(data), size_(size), origin_(origin) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string(const std::string& what) {
    const uint64_t n = read<uint64_t>(what.c_str());
    if (n > kMaxStringBytes || n > remaining())
      fail("{}: {} claims a string of {} bytes at offset {}, but {} bytes remain", origin_, what, n, pos_,
           remaining());
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }

  // A count of elements each at least `min_element_bytes` long: refused when they cannot fit in the rest.
  uint64_t read_count(const std::string& what, uint64_t min_element_bytes) {
    const uint64_t n = read<uint64_t>(what.c_str());
    if (min_element_bytes > 0 && n > remaining() / min_element_bytes)
      fail("{}: {} is {}, but only {} bytes remain at offset {}", origin_, what, n, remaining(), pos_);
    return n;
  }

 private:
  void need(size_t n, const char* what) {
    if (n > remaining())
      fail("{}: truncated: {} at offset {} needs {} bytes, {} remain", origin_, what, pos_, n, remaining());
  }
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& origin_;
};

size_t scalar_bytes(uint32_t t) {
  switch (static_cast<GgufValueType>(t)) {
    case GgufValueType::kU8: case GgufValueType::kI8: case GgufValueType::kBool: return 1;
    case GgufValueType::kU16: case GgufValueType::kI16: return 2;
    case GgufValueType::kU32: case GgufValueType::kI32: case GgufValueType::kF32: return 4;
    case GgufValueType::kU64: case GgufValueType::kI64: case GgufValueType::kF64: return 8;
    case GgufValueType::kString: return 8;  // at least its length
    default: return 0;
  }
}

bool is_real_type(GgufValueType t) { return t == GgufValueType::kF32 || t == GgufValueType::kF64; }

// One scalar of type t into integer / real / text. Returns false for a type that is not a scalar.
bool read_scalar(Reader& r, uint32_t t, const std::string& key, const std::string& origin, int64_t& integer,
                 double& real, std::string& text) {
  switch (static_cast<GgufValueType>(t)) {
    case GgufValueType::kU8: integer = r.read<uint8_t>("a u8 value"); return true;
    case GgufValueType::kI8: integer = r.read<int8_t>("an i8 value"); return true;
    case GgufValueType::kU16: integer = r.read<uint16_t>("a u16 value"); return true;
    case GgufValueType::kI16: integer = r.read<int16_t>("an i16 value"); return true;
    case GgufValueType::kU32: integer = r.read<uint32_t>("a u32 value"); return true;
    case GgufValueType::kI32: integer = r.read<int32_t>("an i32 value"); return true;
    case GgufValueType::kI64: integer = r.read<int64_t>("an i64 value"); return true;
    case GgufValueType::kU64: {
      const uint64_t v = r.read<uint64_t>("a u64 value");
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail("{}: metadata \"{}\": u64 value {} is out of range", origin, key, v);
      integer = static_cast<int64_t>(v);
      return true;
    }
    case GgufValueType::kBool: {
      const uint8_t b = r.read<uint8_t>("a bool value");
      if (b > 1) fail("{}: metadata \"{}\": bool value {} (expected 0 or 1)", origin, key, b);
      integer = b;
      return true;
    }
    case GgufValueType::kF32: real = r.read<float>("an f32 value"); return true;
    case GgufValueType::kF64: real = r.read<double>("an f64 value"); return true;
    case GgufValueType::kString: text = r.read_string("metadata \"" + key + "\""); return true;
    default: return false;
  }
}

GgufValue read_value(Reader& r, uint32_t type, const std::string& key, const std::string& origin) {
  GgufValue v;
  v.type = static_cast<GgufValueType>(type);
  if (type == static_cast<uint32_t>(GgufValueType::kArray)) {
    const uint32_t et = r.read<uint32_t>("an array's element type");
    const size_t min_bytes = scalar_bytes(et);
    if (min_bytes == 0)
      fail("{}: metadata \"{}\": array of {} (expected an array of numbers, bools or strings)", origin, key,
           value_type_name(et));
    v.element_type = static_cast<GgufValueType>(et);
    const uint64_t n = r.read_count(fmt::format("metadata \"{}\" array length", key), min_bytes);
    for (uint64_t i = 0; i < n; ++i) {
      int64_t integer = 0;
      double real = 0;
      std::string text;
      read_scalar(r, et, key, origin, integer, real, text);
      if (et == static_cast<uint32_t>(GgufValueType::kString)) v.texts.push_back(std::move(text));
      else if (is_real_type(v.element_type)) v.reals.push_back(real);
      else v.integers.push_back(integer);
    }
    return v;
  }
  if (!read_scalar(r, type, key, origin, v.integer, v.real, v.text))
    fail("{}: metadata \"{}\" has value type {} (expected 0..12)", origin, key, type);
  return v;
}

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

std::string ggml_type_name(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::kF32: return "F32";
    case GgmlType::kF16: return "F16";
    case GgmlType::kBF16: return "BF16";
    case GgmlType::kQ4_0: return "Q4_0";
    case GgmlType::kQ4_1: return "Q4_1";
    case GgmlType::kQ5_0: return "Q5_0";
    case GgmlType::kQ5_1: return "Q5_1";
    case GgmlType::kQ8_0: return "Q8_0";
    case GgmlType::kQ8_1: return "Q8_1";
    case GgmlType::kQ2_K: return "Q2_K";
    case GgmlType::kQ3_K: return "Q3_K";
    case GgmlType::kQ4_K: return "Q4_K";
    case GgmlType::kQ5_K: return "Q5_K";
    case GgmlType::kQ6_K: return "Q6_K";
    case GgmlType::kQ8_K: return "Q8_K";
  }
  static const std::map<uint32_t, const char*> kOthers = {
      {16, "IQ2_XXS"}, {17, "IQ2_XS"}, {18, "IQ3_XXS"}, {19, "IQ1_S"}, {20, "IQ4_NL"}, {21, "IQ3_S"},
      {22, "IQ2_S"},   {23, "IQ4_XS"}, {24, "I8"},      {25, "I16"},   {26, "I32"},    {27, "I64"},
      {28, "F64"},     {29, "IQ1_M"},  {34, "TQ1_0"},   {35, "TQ2_0"}, {39, "MXFP4"}};
  auto it = kOthers.find(type);
  return it != kOthers.end() ? it->second : fmt::format("type {}", type);
}

std::optional<GgmlBlock> ggml_block(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::kF32: return GgmlBlock{1, 4};
    case GgmlType::kF16: return GgmlBlock{1, 2};
    case GgmlType::kBF16: return GgmlBlock{1, 2};
    case GgmlType::kQ4_0: return GgmlBlock{32, 18};
    case GgmlType::kQ4_1: return GgmlBlock{32, 20};
    case GgmlType::kQ5_0: return GgmlBlock{32, 22};
    case GgmlType::kQ5_1: return GgmlBlock{32, 24};
    case GgmlType::kQ8_0: return GgmlBlock{32, 34};
    case GgmlType::kQ8_1: return GgmlBlock{32, 36};
    case GgmlType::kQ2_K: return GgmlBlock{256, 84};
    case GgmlType::kQ3_K: return GgmlBlock{256, 110};
    case GgmlType::kQ4_K: return GgmlBlock{256, 144};
    case GgmlType::kQ5_K: return GgmlBlock{256, 176};
    case GgmlType::kQ6_K: return GgmlBlock{256, 210};
    case GgmlType::kQ8_K: return GgmlBlock{256, 292};
  }
  return std::nullopt;
}

std::optional<size_t> ggml_tensor_bytes(uint32_t type, const std::vector<int64_t>& dims) {
  const auto block = ggml_block(type);
  if (!block || dims.empty()) return std::nullopt;
  if (dims[0] % block->values != 0) return std::nullopt;
  // Overflow-checked product: a forged shape must not wrap around to a small size.
  unsigned __int128 bytes = static_cast<unsigned __int128>(dims[0] / block->values) * block->bytes;
  for (size_t i = 1; i < dims.size(); ++i) {
    bytes *= static_cast<uint64_t>(dims[i]);
    if (bytes > std::numeric_limits<uint64_t>::max() / 2) return std::nullopt;
  }
  return static_cast<size_t>(bytes);
}

bool GgufValue::is_integer() const {
  return type != GgufValueType::kString && type != GgufValueType::kArray && !is_real_type(type);
}
bool GgufValue::is_real() const { return is_real_type(type); }
size_t GgufValue::array_size() const { return integers.size() + reals.size() + texts.size(); }

GgufValue GgufValue::of_string(std::string s) {
  GgufValue v;
  v.type = GgufValueType::kString;
  v.text = std::move(s);
  return v;
}
GgufValue GgufValue::of_u32(uint32_t x) {
  GgufValue v;
  v.type = GgufValueType::kU32;
  v.integer = x;
  return v;
}
GgufValue GgufValue::of_i32(int32_t x) {
  GgufValue v;
  v.type = GgufValueType::kI32;
  v.integer = x;
  return v;
}
GgufValue GgufValue::of_u64(uint64_t x) {
  GgufValue v;
  v.type = GgufValueType::kU64;
  v.integer = static_cast<int64_t>(x);
  return v;
}
GgufValue GgufValue::of_f32(float x) {
  GgufValue v;
  v.type = GgufValueType::kF32;
  v.real = x;
  return v;
}
GgufValue GgufValue::of_bool(bool x) {
  GgufValue v;
  v.type = GgufValueType::kBool;
  v.integer = x ? 1 : 0;
  return v;
}
GgufValue GgufValue::of_strings(std::vector<std::string> x) {
  GgufValue v;
  v.type = GgufValueType::kArray;
  v.element_type = GgufValueType::kString;
  v.texts = std::move(x);
  return v;
}
GgufValue GgufValue::of_f32s(const std::vector<float>& x) {
  GgufValue v;
  v.type = GgufValueType::kArray;
  v.element_type = GgufValueType::kF32;
  v.reals.assign(x.begin(), x.end());
  return v;
}
GgufValue GgufValue::of_i32s(const std::vector<int64_t>& x) {
  GgufValue v;
  v.type = GgufValueType::kArray;
  v.element_type = GgufValueType::kI32;
  v.integers = x;
  return v;
}
GgufValue GgufValue::of_u32s(const std::vector<int64_t>& x) {
  GgufValue v = of_i32s(x);
  v.element_type = GgufValueType::kU32;
  return v;
}

int64_t GgufTensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

std::vector<int64_t> GgufTensorInfo::shape() const { return {dims.rbegin(), dims.rend()}; }

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = metadata_index.find(key);
  return it == metadata_index.end() ? nullptr : &metadata[it->second].second;
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index.find(name);
  return it == tensor_index.end() ? nullptr : &tensors[it->second];
}

std::optional<int64_t> GgufFile::get_int(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_integer())
    fail("{}: metadata \"{}\" is a {}, expected an integer", origin, key, value_type_name(static_cast<uint32_t>(v->type)));
  return v->integer;
}

std::optional<double> GgufFile::get_real(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->is_real()) return v->real;
  if (v->is_integer() && v->type != GgufValueType::kBool) return static_cast<double>(v->integer);
  fail("{}: metadata \"{}\" is a {}, expected a number", origin, key, value_type_name(static_cast<uint32_t>(v->type)));
}

std::optional<std::string> GgufFile::get_string(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::kString)
    fail("{}: metadata \"{}\" is a {}, expected a string", origin, key, value_type_name(static_cast<uint32_t>(v->type)));
  return v->text;
}

std::optional<bool> GgufFile::get_bool(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::kBool)
    fail("{}: metadata \"{}\" is a {}, expected a bool", origin, key, value_type_name(static_cast<uint32_t>(v->type)));
  return v->integer != 0;
}

const std::vector<std::string>* GgufFile::get_strings(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return nullptr;
  if (v->type != GgufValueType::kArray || v->element_type != GgufValueType::kString)
    fail("{}: metadata \"{}\" is not an array of strings", origin, key);
  return &v->texts;
}

const std::vector<int64_t>* GgufFile::get_ints(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return nullptr;
  if (v->type != GgufValueType::kArray || v->element_type == GgufValueType::kString || is_real_type(v->element_type))
    fail("{}: metadata \"{}\" is not an array of integers", origin, key);
  return &v->integers;
}

std::vector<double> GgufFile::get_reals(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return {};
  if (v->type != GgufValueType::kArray || v->element_type == GgufValueType::kString)
    fail("{}: metadata \"{}\" is not an array of numbers", origin, key);
  if (is_real_type(v->element_type)) return v->reals;
  return {v->integers.begin(), v->integers.end()};
}

int64_t GgufFile::require_int(const std::string& key) const {
  const auto v = get_int(key);
  if (!v) fail("{}: missing metadata \"{}\"", origin, key);
  return *v;
}

bool is_gguf(const uint8_t* data, size_t size) {
  if (size < 4) return false;
  uint32_t magic;
  std::memcpy(&magic, data, 4);
  return magic == kMagic;
}

bool is_gguf_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  uint8_t head[4] = {};
  return in.read(reinterpret_cast<char*>(head), 4) && is_gguf(head, 4);
}

GgufFile parse_gguf(const uint8_t* data, size_t size, const std::string& origin) {
  GgufFile f;
  f.origin = origin;
  Reader r(data, size, f.origin);
  if (!is_gguf(data, size)) fail("{}: not a GGUF file (the first 4 bytes are not \"GGUF\")", origin);
  r.read<uint32_t>("the magic");
  f.version = r.read<uint32_t>("the version");
  if (f.version != 2 && f.version != 3)
    fail("{}: GGUF version {} (expected 2 or 3; version 1 files predate August 2023, reconvert them)", origin,
         f.version);
  // Each tensor info takes at least 8 (name) + 4 (n_dims) + 4 (type) + 8 (offset) bytes, each key-value 8 + 4.
  const uint64_t n_tensors = r.read_count("the tensor count", 24);
  const uint64_t n_kv = r.read_count("the metadata count", 12);

  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = r.read_string(fmt::format("metadata key #{}", i));
    const uint32_t type = r.read<uint32_t>("a metadata value type");
    GgufValue value = read_value(r, type, key, origin);
    if (f.metadata_index.count(key)) fail("{}: metadata \"{}\" appears twice", origin, key);
    f.metadata_index[key] = f.metadata.size();
    f.metadata.emplace_back(std::move(key), std::move(value));
  }
  if (const auto a = f.get_int("general.alignment")) {
    if (*a <= 0 || (*a & (*a - 1)) != 0 || *a > 65536)
      fail("{}: metadata \"general.alignment\" is {}, expected a power of two up to 65536", origin, *a);
    f.alignment = static_cast<uint64_t>(*a);
  }

  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.name = r.read_string(fmt::format("tensor #{}'s name", i));
    const uint32_t n_dims = r.read<uint32_t>("a tensor's dimension count");
    if (n_dims == 0 || n_dims > kMaxDims)
      fail("{}: tensor \"{}\" has {} dimensions, expected 1 to {}", origin, t.name, n_dims, kMaxDims);
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t n = r.read<uint64_t>("a tensor dimension");
      if (n == 0 || n > (uint64_t{1} << 40))
        fail("{}: tensor \"{}\" has dimension {} = {}, expected 1 to 2^40", origin, t.name, d, n);
      t.dims.push_back(static_cast<int64_t>(n));
    }
    t.type = r.read<uint32_t>("a tensor type");
    t.offset = r.read<uint64_t>("a tensor offset");
    if (t.offset % f.alignment != 0)
      fail("{}: tensor \"{}\" is at data offset {}, not a multiple of the alignment {}", origin, t.name, t.offset,
           f.alignment);
    if (f.tensor_index.count(t.name)) fail("{}: tensor \"{}\" appears twice", origin, t.name);
    f.tensor_index[t.name] = f.tensors.size();
    f.tensors.push_back(std::move(t));
  }

  const uint64_t data_start = align_up(r.pos(), f.alignment);
  if (data_start > size && !f.tensors.empty())
    fail("{}: truncated: the data section would start at {}, the file has {} bytes", origin, data_start, size);
  for (GgufTensorInfo& t : f.tensors) {
    const auto bytes = ggml_tensor_bytes(t.type, t.dims);
    if (!bytes) {
      // Unknown types are kept (without data) so that the model loader names the tensor and type; a known
      // type whose row is not whole blocks is an error here.
      const auto block = ggml_block(t.type);
      if (!block) continue;
      if (t.dims[0] % block->values != 0)
        fail("{}: tensor \"{}\" of type {} has rows of {} values, not a multiple of its block of {}", origin,
             t.name, ggml_type_name(t.type), t.dims[0], block->values);
      fail("{}: tensor \"{}\" has {} values, more than any file holds", origin, t.name, shape_string(t.dims));
    }
    if (t.offset > size - data_start || *bytes > size - data_start - t.offset)
      fail("{}: tensor \"{}\" ({} bytes at data offset {}) runs past the end of the file ({} bytes of data)",
           origin, t.name, *bytes, t.offset, size - data_start);
    t.n_bytes = *bytes;
    t.data = data + data_start + t.offset;
  }
  return f;
}

namespace {

class Writer {
 public:
  explicit Writer(std::vector<uint8_t>& out) : out_(out) {}
  template <typename T>
  void put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out_.insert(out_.end(), p, p + sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    out_.insert(out_.end(), s.begin(), s.end());
  }
  void put_scalar(GgufValueType t, int64_t integer, double real, const std::string& text) {
    switch (t) {
      case GgufValueType::kU8: put<uint8_t>(static_cast<uint8_t>(integer)); break;
      case GgufValueType::kI8: put<int8_t>(static_cast<int8_t>(integer)); break;
      case GgufValueType::kU16: put<uint16_t>(static_cast<uint16_t>(integer)); break;
      case GgufValueType::kI16: put<int16_t>(static_cast<int16_t>(integer)); break;
      case GgufValueType::kU32: put<uint32_t>(static_cast<uint32_t>(integer)); break;
      case GgufValueType::kI32: put<int32_t>(static_cast<int32_t>(integer)); break;
      case GgufValueType::kU64: put<uint64_t>(static_cast<uint64_t>(integer)); break;
      case GgufValueType::kI64: put<int64_t>(integer); break;
      case GgufValueType::kBool: put<uint8_t>(integer ? 1 : 0); break;
      case GgufValueType::kF32: put<float>(static_cast<float>(real)); break;
      case GgufValueType::kF64: put<double>(real); break;
      case GgufValueType::kString: put_string(text); break;
      case GgufValueType::kArray: fail("GGUF writer: nested arrays are not supported");
    }
  }
  void put_value(const GgufValue& v) {
    put<uint32_t>(static_cast<uint32_t>(v.type));
    if (v.type != GgufValueType::kArray) return put_scalar(v.type, v.integer, v.real, v.text);
    put<uint32_t>(static_cast<uint32_t>(v.element_type));
    put<uint64_t>(v.array_size());
    for (const auto& s : v.texts) put_scalar(v.element_type, 0, 0, s);
    for (double x : v.reals) put_scalar(v.element_type, 0, x, {});
    for (int64_t x : v.integers) put_scalar(v.element_type, x, 0, {});
  }

 private:
  std::vector<uint8_t>& out_;
};

}  // namespace

void write_gguf(const std::string& path, const std::vector<std::pair<std::string, GgufValue>>& metadata,
                const std::vector<GgufTensorToWrite>& tensors, const std::function<void(size_t)>& on_tensor) {
  constexpr uint64_t kAlignment = 32;
  std::vector<uint8_t> header;
  Writer w(header);
  w.put<uint32_t>(kMagic);
  w.put<uint32_t>(3);
  w.put<uint64_t>(tensors.size());
  w.put<uint64_t>(metadata.size());
  for (const auto& [key, value] : metadata) {
    w.put_string(key);
    w.put_value(value);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    const auto expected = ggml_tensor_bytes(t.type, t.dims);
    if (!expected || *expected != t.n_bytes)
      fail("GGUF writer: tensor \"{}\" of type {} has {} bytes, its shape needs {}", t.name, ggml_type_name(t.type),
           t.n_bytes, expected ? *expected : 0);
    w.put_string(t.name);
    w.put<uint32_t>(static_cast<uint32_t>(t.dims.size()));
    for (int64_t d : t.dims) w.put<uint64_t>(static_cast<uint64_t>(d));
    w.put<uint32_t>(t.type);
    w.put<uint64_t>(offset);
    offset = align_up(offset + t.n_bytes, kAlignment);
  }
  header.resize(align_up(header.size(), kAlignment), 0);

  StagedFile file(path);
  std::ofstream& out = file.out();
  out.write(reinterpret_cast<const char*>(header.data()), static_cast<std::streamsize>(header.size()));
  static const char kZeros[kAlignment] = {};
  for (size_t i = 0; i < tensors.size(); ++i) {
    Buffer buffer(tensors[i].n_bytes);
    tensors[i].fill(buffer.data());
    out.write(reinterpret_cast<const char*>(buffer.data()), static_cast<std::streamsize>(tensors[i].n_bytes));
    const uint64_t pad = align_up(tensors[i].n_bytes, kAlignment) - tensors[i].n_bytes;
    out.write(kZeros, static_cast<std::streamsize>(pad));
    file.check("tensor \"" + tensors[i].name + "\"");
    if (on_tensor) on_tensor(i);
  }
  file.commit();
}

}  // namespace pangu
