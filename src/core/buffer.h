// Memory that the model's weights and caches live in: read-only file mappings and zeroed anonymous
// mappings (pages are committed only when touched, so a large KV cache costs what is used).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pangu {

class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path);  // throws Error naming the path
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Zero-initialised, 64-byte aligned, move-only. Copies are explicit through clone().
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t bytes);
  ~Buffer();
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  Buffer clone() const;
  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  template <typename T>
  T* as() {
    return reinterpret_cast<T*>(data_);
  }
  template <typename T>
  const T* as() const {
    return reinterpret_cast<const T*>(data_);
  }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Drops the whole pages inside [data, data + bytes) of a read-only file mapping from this process's
// resident set (they stay in the page cache); later reads fault them back in. For weights that were read
// once at load and are then touched only sparsely.
void release_mapped_pages(const void* data, size_t bytes);

// Resident set of this process (from /proc/self/status; zeros when unavailable). Weights are file
// mappings, so `file` is what of them is in memory (plus the binary's own pages); `anon` is caches and
// scratch.
struct ResidentMemory {
  size_t total = 0;
  size_t file = 0;
  size_t anon = 0;
};
ResidentMemory resident_memory();

}  // namespace pangu
