// libFuzzer target: tokenizer.json loading, then encode/decode of a fixed text with whatever loaded.
#include <cstddef>
#include <cstdint>
#include <string>

#include "pangu/error.h"
#include "pangu/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto tok =
        pangu::parse_tokenizer_json(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json");
    const auto ids = tok->encode("Hello wörld 123 <s> 你好 \xF0\x9F\x98\x80", true);
    (void)tok->decode(ids);
    pangu::StreamDecoder stream(*tok);
    for (int32_t id : ids) (void)stream.push(id);
    (void)stream.flush();
  } catch (const pangu::Error&) {
  }
  return 0;
}
