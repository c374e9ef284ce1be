// Chat templates: openPangu, ChatML (Qwen), Llama-2 and raw. Chosen from the model's files, overridable.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace pangu {

class Tokenizer;
struct ModelConfig;

enum class ChatTemplate { kPangu, kChatML, kLlama2, kRaw };

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

std::optional<ChatTemplate> chat_template_from_name(const std::string& name);  // pangu|chatml|llama2|raw
std::string chat_template_name(ChatTemplate t);
// From tokenizer_config.json's chat_template text, then the model type; raw when nothing says.
ChatTemplate detect_chat_template(const ModelConfig& config, const Tokenizer* tokenizer);
// The prompt text for `messages`, ending with the assistant's opening when add_generation_prompt.
std::string render_chat(ChatTemplate t, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt = true);
// Whether the rendered text already holds BOS (so the tokenizer must not add another).
bool chat_template_has_bos(ChatTemplate t);

}  // namespace pangu
