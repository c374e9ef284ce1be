// libFuzzer target: a GGUF file as untrusted input, through everything that reads it at load: the container
// parser, the config from metadata, every tensor's conversion (unpermuting, Q8_0 / Q4_0 splitting, block
// dequantization) and the tokenizer from metadata. Malformed input must end in pangu::Error, never in a crash
// or a read outside the input.
#include <cstddef>
#include <cstdint>

#include "io/gguf.h"
#include "io/gguf_model.h"
#include "io/gguf_tokenizer.h"
#include "pangu/error.h"
#include "pangu/thread_pool.h"
#include "pangu/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static pangu::ThreadPool pool(1);
  try {
    const pangu::GgufFile file = pangu::parse_gguf(data, size, "fuzz.gguf");
    for (const auto& t : file.tensors) {
      if (!t.data) continue;
      // Every byte a tensor claims lies inside the input (ASan catches a range past it).
      uint8_t sum = 0;
      for (size_t i = 0; i < t.n_bytes; ++i) sum = static_cast<uint8_t>(sum ^ t.data[i]);
      asm volatile("" : : "r"(sum));
    }
    try {
      const auto tokenizer = pangu::tokenizer_from_gguf(file);
      if (tokenizer) tokenizer->decode(tokenizer->encode("Hello, world! 你好"));
    } catch (const pangu::Error&) {
    }
    // Bounded work: the conversion writes every tensor, so forged shapes of gigabytes are skipped here.
    size_t total = 0;
    for (const auto& t : file.tensors) total += t.n_bytes;
    if (total <= (size_t{1} << 20)) pangu::gguf_model_from_memory(data, size, "fuzz.gguf", pool);
  } catch (const pangu::Error&) {
  }
  return 0;
}
