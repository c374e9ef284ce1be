// safetensors: an 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
// then the data. Every offset is validated against the file before any tensor byte is read.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "core/tensor.h"

namespace pangu {

struct TensorEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  size_t begin = 0;  // byte offsets into the data section
  size_t end = 0;
};

// Parses and validates the header of a safetensors image of `size` bytes. `origin` names it in errors.
std::vector<TensorEntry> parse_safetensors_header(const uint8_t* data, size_t size,
                                                  const std::string& origin);

// A checkpoint: one model.safetensors, or shards listed by model.safetensors.index.json.
class Checkpoint {
 public:
  static Checkpoint open_file(const std::string& path);
  static Checkpoint open_dir(const std::string& dir);  // picks single file or sharded index

  const TensorView* find(const std::string& name) const;
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const std::string& origin() const { return origin_; }

  // A checkpoint assembled by a reader of another format (GGUF): views into a mapping it holds, and tensors
  // converted into memory that it owns.
  static Checkpoint assembled(std::string origin, std::unique_ptr<MappedFile> file);
  void add_view(TensorView view);                 // bytes inside the held mapping
  uint8_t* add_owned(TensorView view, size_t n_bytes);  // returns the zeroed storage view.data points at
  // Whether `data` is the start of storage this checkpoint owns; drop_owned frees it (after its matrix
  // was repacked; the caller stops using the pointer).
  bool owns(const void* data) const { return owned_.count(data) != 0; }
  void drop_owned(const void* data);

 private:
  void add_file(const std::string& path, const std::vector<std::string>* only_names);
  std::string origin_;
  std::vector<std::unique_ptr<MappedFile>> files_;
  std::vector<Buffer> realigned_;  // tensors whose stored offset is misaligned for their dtype
  std::map<const void*, Buffer> owned_;
  std::map<std::string, TensorView> tensors_;
};

// Writes tensors in the given order; `fill` writes exactly the tensor's bytes into dst.
struct TensorToWrite {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::function<void(uint8_t* dst)> fill;
};

// Written to a temporary file next to `path` and renamed into place. `on_tensor` reports progress.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {},
                       const std::function<void(size_t index)>& on_tensor = {});

}  // namespace pangu
