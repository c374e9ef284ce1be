// The OpenAI request parser: what valid requests become, and a 400 naming the field for every kind of bad one.
#include <gtest/gtest.h>

#include "serve/openai.h"
#include "serve/server.h"

namespace pangu::serve {
namespace {

RequestLimits limits() {
  RequestLimits l;
  l.vocab_size = 1000;
  return l;
}

CompletionRequest chat(const std::string& body) { return parse_completion_request(body, true, limits()); }
CompletionRequest completion(const std::string& body) { return parse_completion_request(body, false, limits()); }

// The field a bad body is refused for (the status must be 400).
std::string refused_field(const std::string& body, bool is_chat) {
  try {
    parse_completion_request(body, is_chat, limits());
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 400) << body;
    return e.param.empty() ? "(body)" : e.param;
  }
  ADD_FAILURE() << "accepted: " << body;
  return "";
}

TEST(OpenAIRequest, ChatFieldsAreRead) {
  const auto r = chat(R"({"model":"m","messages":[{"role":"developer","content":"Be brief."},
      {"role":"user","content":[{"type":"text","text":"Hello "},{"type":"text","text":"there"}]}],
      "max_completion_tokens":32,"max_tokens":8,"temperature":0.5,"top_p":0.9,"seed":7,"stop":"\n",
      "presence_penalty":0.5,"frequency_penalty":-0.5,"logit_bias":{"42":-100,"7":3.5},"logprobs":true,
      "top_logprobs":2,"stream":true,"stream_options":{"include_usage":true},
      "chat_template_kwargs":{"enable_thinking":false},"strategy":"pld","speculative":{"method":"pld","k":3}})");
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[1].content, "Hello there");
  EXPECT_EQ(r.max_tokens, 32);  // max_completion_tokens wins over the deprecated max_tokens
  EXPECT_FLOAT_EQ(*r.temperature, 0.5f);
  EXPECT_EQ(*r.seed, 7u);
  EXPECT_EQ(r.stop, std::vector<std::string>{"\n"});
  ASSERT_EQ(r.logit_bias.size(), 2u);
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.top_logprobs, 2);
  EXPECT_TRUE(r.stream && r.include_usage);
  EXPECT_EQ(r.enable_thinking, false);
  EXPECT_EQ(r.strategy, "pld");
  EXPECT_EQ(*r.spec_k, 3);
}

TEST(OpenAIRequest, CompletionPromptsAsTextOrIds) {
  EXPECT_EQ(completion(R"({"prompt":"Once"})").prompt, "Once");
  EXPECT_EQ(completion(R"({"prompt":["Once"]})").prompt, "Once");
  const auto ids = completion(R"({"prompt":[1,2,999],"logprobs":3})");
  EXPECT_TRUE(ids.prompt_is_ids);
  EXPECT_EQ(ids.prompt_ids, (std::vector<int32_t>{1, 2, 999}));
  EXPECT_EQ(ids.top_logprobs, 3);
  EXPECT_EQ(completion(R"({"prompt":"x"})").max_tokens, -1);  // until end-of-sequence or a full context
}

TEST(OpenAIRequest, BadRequestsNameTheField) {
  EXPECT_EQ(refused_field("{not json", true), "(body)");
  EXPECT_EQ(refused_field("[1]", true), "(body)");
  EXPECT_EQ(refused_field(R"({"prompt":"x","top_p":1e309})", false), "(body)");  // found by fuzz_openai
  EXPECT_EQ(refused_field(R"({})", true), "messages");
  EXPECT_EQ(refused_field(R"({"messages":[]})", true), "messages");
  EXPECT_EQ(refused_field(R"({"messages":"hi"})", true), "messages");
  EXPECT_EQ(refused_field(R"({"messages":[{"content":"x"}]})", true), "messages[0].role");
  EXPECT_EQ(refused_field(R"({"messages":[{"role":"user"}]})", true), "messages[0].content");
  EXPECT_EQ(refused_field(R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})", true),
            "messages[0].content[0].type");
  const std::string m = R"("messages":[{"role":"user","content":"x"}])";
  EXPECT_EQ(refused_field("{" + m + R"(,"temperature":"hot"})", true), "temperature");
  EXPECT_EQ(refused_field("{" + m + R"(,"temperature":2.5})", true), "temperature");
  EXPECT_EQ(refused_field("{" + m + R"(,"top_p":0})", true), "top_p");
  EXPECT_EQ(refused_field("{" + m + R"(,"n":2})", true), "n");
  EXPECT_EQ(refused_field("{" + m + R"(,"max_tokens":0})", true), "max_tokens");
  EXPECT_EQ(refused_field("{" + m + R"(,"max_tokens":1.5})", true), "max_tokens");
  EXPECT_EQ(refused_field("{" + m + R"(,"presence_penalty":3})", true), "presence_penalty");
  EXPECT_EQ(refused_field("{" + m + R"(,"stop":["a","b","c","d","e"]})", true), "stop");
  EXPECT_EQ(refused_field("{" + m + R"(,"stop":[""]})", true), "stop[0]");
  EXPECT_EQ(refused_field("{" + m + R"(,"logit_bias":{"x":1}})", true), "logit_bias.x");
  EXPECT_EQ(refused_field("{" + m + R"(,"logit_bias":{"1000":1}})", true), "logit_bias.1000");
  EXPECT_EQ(refused_field("{" + m + R"(,"logit_bias":{"5":101}})", true), "logit_bias.5");
  EXPECT_EQ(refused_field("{" + m + R"(,"top_logprobs":2})", true), "top_logprobs");
  EXPECT_EQ(refused_field("{" + m + R"(,"logprobs":true,"top_logprobs":21})", true), "top_logprobs");
  EXPECT_EQ(refused_field("{" + m + R"(,"stream_options":{"include_usage":true}})", true), "stream_options");
  EXPECT_EQ(refused_field("{" + m + R"(,"speculative":{"method":"magic"}})", true), "speculative.method");
  EXPECT_EQ(refused_field(R"({"prompt":""})", false), "prompt");
  EXPECT_EQ(refused_field(R"({"prompt":3})", false), "prompt");
  EXPECT_EQ(refused_field(R"({"prompt":["a","b"]})", false), "prompt");
  EXPECT_EQ(refused_field(R"({"prompt":[1,1000]})", false), "prompt[1]");
  EXPECT_EQ(refused_field(R"({"prompt":[1,-1]})", false), "prompt[1]");
  EXPECT_EQ(refused_field(R"({"prompt":"x","seed":"s"})", false), "seed");
}

TEST(OpenAIRequest, ErrorBodiesAreValidJsonWhateverTheClientSent) {
  // found by fuzz_openai: the parser's message quotes bytes that are not UTF-8
  try {
    parse_completion_request("{\"prompt\xff\xff\":1}", false, limits());
    ADD_FAILURE() << "accepted";
  } catch (const ApiError& e) {
    const auto body = nlohmann::json::parse(error_body(e));
    EXPECT_EQ(body["error"]["type"], "invalid_request_error");
  }
  const auto body = nlohmann::json::parse(error_body(ApiError(400, "logit_bias.\xfe: bad", "logit_bias.\xfe")));
  EXPECT_TRUE(body["error"]["param"].is_string());
}

TEST(OpenAIRequest, ErrorBodiesHaveOpenAIsShape) {
  const auto body = nlohmann::json::parse(error_body(ApiError(400, "temperature: bad", "temperature")));
  EXPECT_EQ(body["error"]["message"], "temperature: bad");
  EXPECT_EQ(body["error"]["type"], "invalid_request_error");
  EXPECT_EQ(body["error"]["param"], "temperature");
  EXPECT_TRUE(body["error"]["code"].is_null());
  EXPECT_EQ(finish_reason("eos"), "stop");
  EXPECT_EQ(finish_reason("stop"), "stop");
  EXPECT_EQ(finish_reason("length"), "length");
  EXPECT_EQ(finish_reason("context"), "length");
}

TEST(ApiKey, ComparisonIsExactWhateverTheLengths) {
  EXPECT_TRUE(keys_equal("secret", "secret"));
  EXPECT_FALSE(keys_equal("secreT", "secret"));
  EXPECT_FALSE(keys_equal("secret-longer", "secret"));
  EXPECT_FALSE(keys_equal("secre", "secret"));
  EXPECT_FALSE(keys_equal("", "secret"));
  EXPECT_FALSE(keys_equal(std::string("secret\0", 7), "secret"));
}

}  // namespace
}  // namespace pangu::serve
