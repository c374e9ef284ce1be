// The OpenAI API's request and response bodies: parsing and validation of /v1/chat/completions and
// /v1/completions requests (every field checked for type and range, errors naming the field), and the JSON
// of responses, stream chunks and errors. Pure functions of their inputs: fuzzed (tests/fuzz/fuzz_openai).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pangu/chat.h"

namespace pangu::serve {

// An error for the client: the HTTP status and OpenAI's {"error": {message, type, param, code}}.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string message, std::string param = "", std::string type = "invalid_request_error",
           std::string code = "")
      : std::runtime_error(message), status(status), param(std::move(param)), type(std::move(type)),
        code(std::move(code)) {}
  int status;
  std::string param;
  std::string type;
  std::string code;
};
std::string error_body(const ApiError& e);

// Limits the server applies while parsing (from the command line).
struct RequestLimits {
  int64_t vocab_size = 0;
  int max_stop_strings = 4;      // OpenAI's limit
  int max_top_logprobs = 20;     // OpenAI's limit
  size_t max_messages = 1024;
};

struct CompletionRequest {
  bool chat = false;
  std::string model;
  std::vector<ChatMessage> messages;  // chat
  std::string prompt;                 // completions: text ...
  std::vector<int32_t> prompt_ids;    // ... or token ids (used as given)
  bool prompt_is_ids = false;
  int64_t max_tokens = -1;            // -1: until end-of-sequence or a full context
  std::optional<float> temperature;   // unset: the model's generation_config.json
  std::optional<float> top_p;
  std::optional<int> top_k;           // extension, as vLLM and llama-server accept it
  std::optional<float> min_p;         // extension
  std::optional<float> repetition_penalty;  // extension
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  std::vector<std::pair<int32_t, float>> logit_bias;
  bool logprobs = false;
  int top_logprobs = 0;
  bool stream = false;
  bool include_usage = false;
  bool ignore_eos = false;               // extension
  std::optional<bool> enable_thinking;   // chat_template_kwargs.enable_thinking
  std::string strategy;                  // extension: "auto" or a named strategy; empty: the server's default
  std::optional<std::string> spec;       // extension: speculative method override (none | pld)
  std::optional<int> spec_k;             // extension
};

// Throws ApiError (400) naming the field for anything malformed: not JSON, wrong types, out of range.
CompletionRequest parse_completion_request(std::string_view body, bool chat, const RequestLimits& limits);

// The OpenAI finish_reason for our stop reasons ("stop", "length").
std::string finish_reason(std::string_view stop_reason);

}  // namespace pangu::serve
