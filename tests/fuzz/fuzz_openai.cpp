// libFuzzer target: OpenAI request bodies (what any client can send to pangu serve). Every input either parses
// into a request whose fields are in range or throws ApiError with status 400; nothing else may happen.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "serve/openai.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  pangu::serve::RequestLimits limits;
  limits.vocab_size = 153376;
  for (const bool chat : {true, false}) {
    try {
      const auto r = pangu::serve::parse_completion_request(body, chat, limits);
      if (r.chat && r.messages.empty()) std::abort();
      if (!r.chat && !r.prompt_is_ids && r.prompt.empty()) std::abort();
      for (int32_t id : r.prompt_ids)
        if (id < 0 || id >= limits.vocab_size) std::abort();
      for (const auto& [id, bias] : r.logit_bias)
        if (id < 0 || id >= limits.vocab_size || !(bias >= -100.0f && bias <= 100.0f)) std::abort();
      if (r.temperature && !(*r.temperature >= 0.0f && *r.temperature <= 2.0f)) std::abort();
      if (r.top_logprobs < 0 || r.top_logprobs > limits.max_top_logprobs) std::abort();
      if (r.max_tokens == 0 || r.max_tokens < -1) std::abort();
      if (static_cast<int>(r.stop.size()) > limits.max_stop_strings) std::abort();
    } catch (const pangu::serve::ApiError& e) {
      if (e.status != 400) std::abort();
      (void)pangu::serve::error_body(e);
    }
  }
  return 0;
}
