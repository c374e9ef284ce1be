#include "serve/openai.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

namespace pangu::serve {

using Json = nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string& param, const std::string& message) {
  throw ApiError(400, fmt::format("{}: {}", param, message), param);
}

const char* type_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "an integer";
    case Json::value_t::number_float:
      return "a number";
    default:
      return "something else";
  }
}

double number(const Json& v, const std::string& param, double lo, double hi) {
  if (!v.is_number()) bad(param, fmt::format("expected a number, found {}", type_name(v)));
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < lo || x > hi) bad(param, fmt::format("{} is out of range [{}, {}]", x, lo, hi));
  return x;
}

int64_t integer(const Json& v, const std::string& param, int64_t lo, int64_t hi) {
  if (v.is_number_float()) {
    const double x = v.get<double>();
    if (std::isfinite(x) && x == std::floor(x) && x >= static_cast<double>(lo) && x <= static_cast<double>(hi))
      return static_cast<int64_t>(x);
  }
  if (!v.is_number_integer() && !v.is_number_unsigned())
    bad(param, fmt::format("expected an integer, found {}", type_name(v)));
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi))
    bad(param, fmt::format("{} is out of range [{}, {}]", v.get<uint64_t>(), lo, hi));
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) bad(param, fmt::format("{} is out of range [{}, {}]", x, lo, hi));
  return x;
}

bool boolean(const Json& v, const std::string& param) {
  if (!v.is_boolean()) bad(param, fmt::format("expected true or false, found {}", type_name(v)));
  return v.get<bool>();
}

std::string string(const Json& v, const std::string& param) {
  if (!v.is_string()) bad(param, fmt::format("expected a string, found {}", type_name(v)));
  return v.get<std::string>();
}

// OpenAI message content: a string, or an array of parts of which the text parts are joined.
std::string message_content(const Json& v, const std::string& param) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_array()) bad(param, fmt::format("expected a string or an array of content parts, found {}", type_name(v)));
  std::string text;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string part = fmt::format("{}[{}]", param, i);
    if (!v[i].is_object()) bad(part, fmt::format("expected an object, found {}", type_name(v[i])));
    const auto type = v[i].find("type");
    if (type == v[i].end() || !type->is_string()) bad(part + ".type", "expected \"text\"");
    if (*type != "text") bad(part + ".type", fmt::format("\"{}\" is not supported (text parts only)", type->get<std::string>()));
    const auto t = v[i].find("text");
    if (t == v[i].end()) bad(part + ".text", "missing");
    text += string(*t, part + ".text");
  }
  return text;
}

}  // namespace

std::string error_body(const ApiError& e) {
  Json error = {{"message", e.what()}, {"type", e.type}};
  error["param"] = e.param.empty() ? Json(nullptr) : Json(e.param);
  error["code"] = e.code.empty() ? Json(nullptr) : Json(e.code);
  // Messages quote what the client sent (a JSON parser's "last read", a field name): its bytes may not be
  // UTF-8, and must not stop the error from being sent.
  return Json{{"error", error}}.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string finish_reason(std::string_view stop_reason) {
  if (stop_reason == "length" || stop_reason == "context") return "length";
  return "stop";
}

CompletionRequest parse_completion_request(std::string_view body, bool chat, const RequestLimits& limits) {
  Json j;
  try {
    j = Json::parse(body);
  } catch (const Json::parse_error& e) {
    throw ApiError(400, fmt::format("the body is not valid JSON ({})", e.what()));
  } catch (const Json::exception& e) {  // a number too large for any type (out_of_range.406)
    throw ApiError(400, fmt::format("the body cannot be read as JSON ({})", e.what()));
  }
  if (!j.is_object()) throw ApiError(400, fmt::format("the body must be a JSON object, found {}", type_name(j)));
  CompletionRequest r;
  r.chat = chat;
  auto field = [&](const char* name) -> const Json* {
    const auto it = j.find(name);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  };
  if (const Json* v = field("model")) r.model = string(*v, "model");

  if (chat) {
    const Json* messages = field("messages");
    if (!messages) bad("messages", "required");
    if (!messages->is_array()) bad("messages", fmt::format("expected an array, found {}", type_name(*messages)));
    if (messages->empty()) bad("messages", "must hold at least one message");
    if (messages->size() > limits.max_messages)
      bad("messages", fmt::format("{} messages, more than the {} allowed", messages->size(), limits.max_messages));
    for (size_t i = 0; i < messages->size(); ++i) {
      const Json& m = (*messages)[i];
      const std::string param = fmt::format("messages[{}]", i);
      if (!m.is_object()) bad(param, fmt::format("expected an object, found {}", type_name(m)));
      const auto role = m.find("role");
      if (role == m.end()) bad(param + ".role", "required");
      std::string role_name = string(*role, param + ".role");
      if (role_name == "developer") role_name = "system";  // OpenAI's newer name for the system role
      if (role_name != "system" && role_name != "user" && role_name != "assistant")
        bad(param + ".role", fmt::format("\"{}\": expected system, developer, user or assistant", role_name));
      const auto content = m.find("content");
      if (content == m.end()) bad(param + ".content", "required");
      r.messages.push_back({role_name, message_content(*content, param + ".content")});
    }
  } else {
    const Json* prompt = field("prompt");
    if (!prompt) bad("prompt", "required");
    if (prompt->is_string()) {
      r.prompt = prompt->get<std::string>();
    } else if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) {
      r.prompt = (*prompt)[0].get<std::string>();
    } else if (prompt->is_array() && !prompt->empty() && (*prompt)[0].is_number()) {
      r.prompt_is_ids = true;
      for (size_t i = 0; i < prompt->size(); ++i)
        r.prompt_ids.push_back(static_cast<int32_t>(
            integer((*prompt)[i], fmt::format("prompt[{}]", i), 0, limits.vocab_size - 1)));
    } else if (prompt->is_array() && prompt->size() > 1) {
      bad("prompt", "a batch of several prompts is not supported; send one request per prompt");
    } else {
      bad("prompt", fmt::format("expected a string or an array of token ids, found {}", type_name(*prompt)));
    }
    if (!r.prompt_is_ids && r.prompt.empty()) bad("prompt", "empty");
  }

  if (const Json* v = field("n"); v && integer(*v, "n", 1, 128) != 1)
    bad("n", "only n = 1 is supported; send one request per choice");
  if (const Json* v = field("best_of"); v && integer(*v, "best_of", 1, 128) != 1) bad("best_of", "only 1 is supported");
  if (const Json* v = field("echo"); v && boolean(*v, "echo")) bad("echo", "not supported");
  const Json* max_completion = field("max_completion_tokens");
  const Json* max_tokens = field("max_tokens");
  if (max_completion) r.max_tokens = integer(*max_completion, "max_completion_tokens", 1, INT32_MAX);
  else if (max_tokens) r.max_tokens = integer(*max_tokens, "max_tokens", 1, INT32_MAX);
  if (const Json* v = field("temperature")) r.temperature = static_cast<float>(number(*v, "temperature", 0.0, 2.0));
  if (const Json* v = field("top_p")) {
    r.top_p = static_cast<float>(number(*v, "top_p", 0.0, 1.0));
    if (*r.top_p <= 0.0f) bad("top_p", "must be above 0");
  }
  if (const Json* v = field("top_k")) r.top_k = static_cast<int>(integer(*v, "top_k", -1, INT32_MAX));
  if (r.top_k && *r.top_k < 0) r.top_k = 0;  // vLLM's -1: off
  if (const Json* v = field("min_p")) {
    r.min_p = static_cast<float>(number(*v, "min_p", 0.0, 1.0));
    if (*r.min_p >= 1.0f) bad("min_p", "must be below 1");
  }
  if (const Json* v = field("repetition_penalty")) {
    r.repetition_penalty = static_cast<float>(number(*v, "repetition_penalty", 0.0, 10.0));
    if (*r.repetition_penalty <= 0.0f) bad("repetition_penalty", "must be above 0");
  }
  if (const Json* v = field("presence_penalty")) r.presence_penalty = static_cast<float>(number(*v, "presence_penalty", -2.0, 2.0));
  if (const Json* v = field("frequency_penalty"))
    r.frequency_penalty = static_cast<float>(number(*v, "frequency_penalty", -2.0, 2.0));
  if (const Json* v = field("seed")) r.seed = static_cast<uint64_t>(integer(*v, "seed", INT64_MIN, INT64_MAX));
  if (const Json* v = field("stop")) {
    if (v->is_string()) {
      r.stop.push_back(v->get<std::string>());
    } else if (v->is_array()) {
      if (static_cast<int>(v->size()) > limits.max_stop_strings)
        bad("stop", fmt::format("{} stop sequences, more than the {} allowed", v->size(), limits.max_stop_strings));
      for (size_t i = 0; i < v->size(); ++i) r.stop.push_back(string((*v)[i], fmt::format("stop[{}]", i)));
    } else {
      bad("stop", fmt::format("expected a string or an array of strings, found {}", type_name(*v)));
    }
    for (size_t i = 0; i < r.stop.size(); ++i)
      if (r.stop[i].empty()) bad(fmt::format("stop[{}]", i), "empty");
  }
  if (const Json* v = field("logit_bias")) {
    if (!v->is_object()) bad("logit_bias", fmt::format("expected an object of token id -> bias, found {}", type_name(*v)));
    for (const auto& [key, bias] : v->items()) {
      const std::string param = "logit_bias." + key;
      int64_t id = -1;
      try {
        size_t used = 0;
        id = std::stoll(key, &used);
        if (used != key.size()) id = -1;
      } catch (const std::exception&) {
        id = -1;
      }
      if (id < 0 || id >= limits.vocab_size)
        bad(param, fmt::format("\"{}\" is not a token id of this model (0 to {})", key, limits.vocab_size - 1));
      r.logit_bias.emplace_back(static_cast<int32_t>(id), static_cast<float>(number(bias, param, -100.0, 100.0)));
    }
  }
  if (chat) {
    if (const Json* v = field("logprobs")) r.logprobs = boolean(*v, "logprobs");
    if (const Json* v = field("top_logprobs")) {
      r.top_logprobs = static_cast<int>(integer(*v, "top_logprobs", 0, limits.max_top_logprobs));
      if (!r.logprobs && r.top_logprobs > 0) bad("top_logprobs", "needs logprobs: true");
    }
  } else if (const Json* v = field("logprobs")) {
    // The legacy API: logprobs is the number of alternatives per token.
    r.logprobs = true;
    r.top_logprobs = static_cast<int>(integer(*v, "logprobs", 0, limits.max_top_logprobs));
  }
  if (const Json* v = field("stream")) r.stream = boolean(*v, "stream");
  if (const Json* v = field("stream_options")) {
    if (!v->is_object()) bad("stream_options", fmt::format("expected an object, found {}", type_name(*v)));
    if (!r.stream) bad("stream_options", "only allowed with stream: true");
    if (const auto u = v->find("include_usage"); u != v->end() && !u->is_null())
      r.include_usage = boolean(*u, "stream_options.include_usage");
  }
  if (const Json* v = field("ignore_eos")) r.ignore_eos = boolean(*v, "ignore_eos");
  if (const Json* v = field("chat_template_kwargs")) {
    if (!v->is_object()) bad("chat_template_kwargs", fmt::format("expected an object, found {}", type_name(*v)));
    if (const auto t = v->find("enable_thinking"); t != v->end() && !t->is_null())
      r.enable_thinking = boolean(*t, "chat_template_kwargs.enable_thinking");
  }
  if (const Json* v = field("strategy")) r.strategy = string(*v, "strategy");
  if (const Json* v = field("speculative")) {
    if (!v->is_object()) bad("speculative", fmt::format("expected an object, found {}", type_name(*v)));
    if (const auto m = v->find("method"); m != v->end() && !m->is_null()) {
      r.spec = string(*m, "speculative.method");
      if (*r.spec != "none" && *r.spec != "pld") bad("speculative.method", fmt::format("\"{}\": expected none or pld", *r.spec));
    }
    if (const auto k = v->find("k"); k != v->end() && !k->is_null())
      r.spec_k = static_cast<int>(integer(*k, "speculative.k", 1, 16));
  }
  return r;
}

}  // namespace pangu::serve
