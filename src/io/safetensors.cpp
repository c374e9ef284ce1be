#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "io/json_file.h"
#include "io/staged_dir.h"
#include "pangu/error.h"

namespace pangu {

namespace fs = std::filesystem;

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace {

constexpr size_t kMaxHeaderBytes = 100u << 20;  // the format's own limit is 100 MB

uint64_t read_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

std::vector<TensorEntry> parse_safetensors_header(const uint8_t* data, size_t size,
                                                  const std::string& origin) {
  if (size < 8) fail("{}: truncated safetensors file: {} bytes, expected at least 8", origin, size);
  const uint64_t header_len = read_le64(data);
  if (header_len > kMaxHeaderBytes)
    fail("{}: safetensors header length {} exceeds the 100 MB limit", origin, header_len);
  if (header_len > size - 8)
    fail("{}: safetensors header length {} is longer than the file ({} bytes after the length)", origin,
         header_len, size - 8);
  const std::string header(reinterpret_cast<const char*>(data + 8), header_len);
  const Json json = parse_json_text(header, origin + " (safetensors header)");
  if (!json.is_object()) fail("{}: safetensors header is not a JSON object", origin);
  const size_t data_size = size - 8 - header_len;

  std::vector<TensorEntry> entries;
  for (const auto& [name, info] : json.items()) {
    if (name == "__metadata__") continue;
    if (!info.is_object()) fail("{}: tensor \"{}\": header entry is not an object", origin, name);
    TensorEntry e;
    e.name = name;
    const auto dt = info.find("dtype");
    if (dt == info.end() || !dt->is_string()) fail("{}: tensor \"{}\": missing dtype", origin, name);
    const auto dtype = dtype_from_name(dt->get<std::string>());
    if (!dtype) fail("{}: tensor \"{}\": unsupported dtype \"{}\"", origin, name, dt->get<std::string>());
    e.dtype = *dtype;
    const auto sh = info.find("shape");
    if (sh == info.end() || !sh->is_array()) fail("{}: tensor \"{}\": missing shape", origin, name);
    uint64_t numel = 1;
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned())
        fail("{}: tensor \"{}\": shape entries must be non-negative integers", origin, name);
      const uint64_t dim = d.get<uint64_t>();
      if (dim != 0 && numel > (uint64_t{1} << 62) / dim)
        fail("{}: tensor \"{}\": shape overflows", origin, name);
      numel *= dim;
      e.shape.push_back(static_cast<int64_t>(dim));
    }
    const auto off = info.find("data_offsets");
    if (off == info.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
      fail("{}: tensor \"{}\": data_offsets must be two non-negative integers", origin, name);
    const uint64_t begin = (*off)[0].get<uint64_t>();
    const uint64_t end = (*off)[1].get<uint64_t>();
    if (begin > end || end > data_size)
      fail("{}: tensor \"{}\": data_offsets [{}, {}] out of range (data section is {} bytes)", origin, name,
           begin, end, data_size);
    const uint64_t expected = numel * dtype_size(e.dtype);
    if (end - begin != expected)
      fail("{}: tensor \"{}\": {} {} needs {} bytes, data_offsets span {}", origin, name, dtype_name(e.dtype),
           shape_string(e.shape), expected, end - begin);
    e.begin = begin;
    e.end = end;
    entries.push_back(std::move(e));
  }
  std::vector<const TensorEntry*> sorted;
  for (const auto& e : entries) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i]->begin < sorted[i - 1]->end)
      fail("{}: tensors \"{}\" and \"{}\" overlap (bytes {}..{} and {}..{})", origin, sorted[i - 1]->name,
           sorted[i]->name, sorted[i - 1]->begin, sorted[i - 1]->end, sorted[i]->begin, sorted[i]->end);
  }
  return entries;
}

void Checkpoint::add_file(const std::string& path, const std::vector<std::string>* only_names) {
  auto file = std::make_unique<MappedFile>(path);
  const auto entries = parse_safetensors_header(file->data(), file->size(), path);
  const size_t data_start = 8 + read_le64(file->data());
  for (const auto& e : entries) {
    if (only_names && std::find(only_names->begin(), only_names->end(), e.name) == only_names->end())
      continue;
    if (tensors_.count(e.name)) fail("{}: tensor \"{}\" appears in more than one shard", path, e.name);
    TensorView view{e.name, e.dtype, e.shape, file->data() + data_start + e.begin, e.end - e.begin};
    if (reinterpret_cast<uintptr_t>(view.data) % dtype_size(e.dtype) != 0) {
      Buffer aligned(view.n_bytes);
      std::memcpy(aligned.data(), view.data, view.n_bytes);
      view.data = aligned.data();
      realigned_.push_back(std::move(aligned));
    }
    tensors_.emplace(e.name, std::move(view));
  }
  files_.push_back(std::move(file));
}

Checkpoint Checkpoint::open_file(const std::string& path) {
  Checkpoint c;
  c.origin_ = path;
  c.add_file(path, nullptr);
  return c;
}

Checkpoint Checkpoint::open_dir(const std::string& dir) {
  const fs::path single = fs::path(dir) / "model.safetensors";
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  if (fs::exists(single)) return open_file(single.string());
  if (!fs::exists(index)) {
    // msModelSlim names its single file quant_model_weight_<type>.safetensors.
    std::vector<fs::path> candidates;
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.path().extension() == ".safetensors") candidates.push_back(entry.path());
    if (candidates.size() == 1) return open_file(candidates[0].string());
    fail(
        "{}: no model.safetensors or model.safetensors.index.json (is this a model directory? try `pangu "
        "info {}`)",
        dir, dir);
  }
  const Json json = read_json_file(index.string());
  const auto map = json.find("weight_map");
  if (map == json.end() || !map->is_object()) fail("{}: missing object \"weight_map\"", index.string());
  std::map<std::string, std::vector<std::string>> by_shard;
  for (const auto& [name, shard] : map->items()) {
    if (!shard.is_string()) fail("{}: weight_map[\"{}\"] is not a file name", index.string(), name);
    const std::string file = shard.get<std::string>();
    if (file.find('/') != std::string::npos || file == "..")
      fail("{}: weight_map[\"{}\"] names \"{}\" outside the directory", index.string(), name, file);
    by_shard[file].push_back(name);
  }
  Checkpoint c;
  c.origin_ = index.string();
  for (const auto& [file, names] : by_shard) {
    c.add_file((fs::path(dir) / file).string(), &names);
    for (const auto& n : names)
      if (!c.tensors_.count(n))
        fail("{}: tensor \"{}\" listed for shard {} is not in it", index.string(), n, file);
  }
  return c;
}

Checkpoint Checkpoint::assembled(std::string origin, std::unique_ptr<MappedFile> file) {
  Checkpoint c;
  c.origin_ = std::move(origin);
  if (file) c.files_.push_back(std::move(file));
  return c;
}

void Checkpoint::add_view(TensorView view) {
  if (tensors_.count(view.name)) fail("{}: tensor \"{}\" appears twice", origin_, view.name);
  std::string name = view.name;
  tensors_.emplace(std::move(name), std::move(view));
}

uint8_t* Checkpoint::add_owned(TensorView view, size_t n_bytes) {
  Buffer storage(n_bytes);
  uint8_t* data = storage.data();
  view.data = data;
  view.n_bytes = n_bytes;
  add_view(std::move(view));
  owned_.emplace(data, std::move(storage));
  return data;
}

void Checkpoint::drop_owned(const void* data) {
  if (owned_.erase(data) == 0) return;
  for (auto& [name, view] : tensors_)
    if (view.data == data) {  // the view is gone with its bytes
      view.data = nullptr;
      view.n_bytes = 0;
    }
}

const TensorView* Checkpoint::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata,
                       const std::function<void(size_t)>& on_tensor) {
  Json header = Json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  std::vector<size_t> sizes;
  for (const auto& t : tensors) {
    int64_t numel = 1;
    for (auto d : t.shape) numel *= d;
    const size_t bytes = static_cast<size_t>(numel) * dtype_size(t.dtype);
    header[t.name] = {
        {"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    sizes.push_back(bytes);
  }
  std::string text = header.dump();
  while ((8 + text.size()) % 64 != 0) text.push_back(' ');  // keep the data section aligned

  StagedFile file(path);
  std::ofstream& out = file.out();
  uint8_t len[8];
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
  out.write(reinterpret_cast<const char*>(len), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (size_t i = 0; i < tensors.size(); ++i) {
    Buffer buffer(sizes[i]);
    tensors[i].fill(buffer.data());
    out.write(reinterpret_cast<const char*>(buffer.data()), static_cast<std::streamsize>(sizes[i]));
    file.check("tensor \"" + tensors[i].name + "\"");
    if (on_tensor) on_tensor(i);
  }
  file.commit();
}

}  // namespace pangu
