#include "pangu/chat.h"
#include "pangu/config.h"
#include "pangu/error.h"
#include "pangu/tokenizer.h"

namespace pangu {

std::optional<ChatTemplate> chat_template_from_name(const std::string& name) {
  if (name == "pangu" || name == "openpangu") return ChatTemplate::kPangu;
  if (name == "chatml" || name == "qwen") return ChatTemplate::kChatML;
  if (name == "llama2" || name == "llama-2") return ChatTemplate::kLlama2;
  if (name == "raw" || name == "none") return ChatTemplate::kRaw;
  return std::nullopt;
}

std::string chat_template_name(ChatTemplate t) {
  switch (t) {
    case ChatTemplate::kPangu:
      return "pangu";
    case ChatTemplate::kChatML:
      return "chatml";
    case ChatTemplate::kLlama2:
      return "llama2";
    case ChatTemplate::kRaw:
      return "raw";
  }
  return "raw";
}

ChatTemplate detect_chat_template(const ModelConfig& config, const Tokenizer* tokenizer) {
  if (tokenizer) {
    const std::string& t = tokenizer->chat_template();
    if (t.find("[unused9]") != std::string::npos) return ChatTemplate::kPangu;
    if (t.find("<|im_start|>") != std::string::npos) return ChatTemplate::kChatML;
    if (t.find("[INST]") != std::string::npos) return ChatTemplate::kLlama2;
  }
  if (config.model_type == "PanguEmbedded") return ChatTemplate::kPangu;
  if (config.model_type == "qwen2") return ChatTemplate::kChatML;
  return ChatTemplate::kRaw;
}

bool chat_template_has_bos(ChatTemplate t) {
  return t == ChatTemplate::kLlama2;
}

namespace {

std::string render_pangu(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  // [unused9]系统：{system}[unused10][unused9]用户：{user}[unused10][unused9]助手：
  std::string out;
  if (messages.empty() || messages.front().role != "system") out += "[unused9]系统：[unused10]";
  for (const auto& m : messages) {
    const char* name = m.role == "system" ? "系统" : m.role == "user" ? "用户" : "助手";
    out += "[unused9]" + std::string(name) + "：" + m.content + "[unused10]";
  }
  if (add_generation_prompt) out += "[unused9]助手：";
  return out;
}

std::string render_chatml(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  std::string out;
  for (const auto& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

std::string render_llama2(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  // <s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s><s>[INST] {user} [/INST]
  std::string out, system;
  bool first_user = true;
  for (const auto& m : messages) {
    if (m.role == "system") {
      system = m.content;
    } else if (m.role == "user") {
      out += "<s>[INST] ";
      if (first_user && !system.empty()) out += "<<SYS>>\n" + system + "\n<</SYS>>\n\n";
      out += m.content + " [/INST]";
      first_user = false;
    } else {
      out += " " + m.content + " </s>";
    }
  }
  (void)add_generation_prompt;  // the prompt already ends at [/INST]
  return out;
}

}  // namespace

std::string render_chat(ChatTemplate t, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt) {
  for (const auto& m : messages)
    if (m.role != "system" && m.role != "user" && m.role != "assistant")
      fail("chat message role \"{}\" is not one of system, user, assistant", m.role);
  switch (t) {
    case ChatTemplate::kPangu:
      return render_pangu(messages, add_generation_prompt);
    case ChatTemplate::kChatML:
      return render_chatml(messages, add_generation_prompt);
    case ChatTemplate::kLlama2:
      return render_llama2(messages, add_generation_prompt);
    case ChatTemplate::kRaw: {
      std::string out;
      for (const auto& m : messages) out += m.content;
      return out;
    }
  }
  return {};
}

}  // namespace pangu
