// libFuzzer target: the safetensors header parser must reject any malformed image with pangu::Error, never
// crash or read out of bounds.
#include <cstddef>
#include <cstdint>

#include "io/safetensors.h"
#include "pangu/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto entries = pangu::parse_safetensors_header(data, size, "fuzz.safetensors");
    // Valid entries must lie inside the data section.
    const uint64_t header =
        size >= 8 ? (static_cast<uint64_t>(data[0]) | static_cast<uint64_t>(data[1]) << 8 |
                     static_cast<uint64_t>(data[2]) << 16 | static_cast<uint64_t>(data[3]) << 24 |
                     static_cast<uint64_t>(data[4]) << 32 | static_cast<uint64_t>(data[5]) << 40 |
                     static_cast<uint64_t>(data[6]) << 48 | static_cast<uint64_t>(data[7]) << 56)
                  : 0;
    for (const auto& e : entries) {
      if (8 + header + e.end > size) __builtin_trap();
      // Every byte an entry claims is read (ASan catches a range past the input); the sum keeps the loop.
      uint8_t sum = 0;
      for (size_t i = e.begin; i < e.end; ++i) sum = static_cast<uint8_t>(sum ^ data[8 + header + i]);
      asm volatile("" : : "r"(sum));
    }
  } catch (const pangu::Error&) {
  }
  return 0;
}
