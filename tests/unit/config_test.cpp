// config.json parsing: the architecture decides only how bias flags are read.
#include "pangu/config.h"

#include <gtest/gtest.h>

#include "pangu/error.h"
#include "test_util.h"

namespace pangu {
namespace {

std::string base(const std::string& arch_fields) {
  return R"({"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
             "intermediate_size": 128, "vocab_size": 100, )" +
         arch_fields + "}";
}

TEST(Config, PanguBiasMeansQkvoBiases) {
  const auto c = load_model_config(test::shared("models/configs/openpangu-embedded-1b.config.json"));
  EXPECT_TRUE(c.q_bias && c.k_bias && c.v_bias && c.o_bias);
  EXPECT_FALSE(c.mlp_bias);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.eos_token_ids, std::vector<int64_t>{45892});
  EXPECT_DOUBLE_EQ(c.rope.theta, 4e6);
  const auto c7 = load_model_config(test::shared("models/configs/openpangu-embedded-7b.config.json"));
  EXPECT_FALSE(c7.tie_word_embeddings);
  EXPECT_EQ(c7.n_heads / c7.n_heads_kv, 4);
}

TEST(Config, Qwen2HasQkvBiasWithoutOBias) {
  const auto c =
      parse_model_config(base(R"("architectures": ["Qwen2ForCausalLM"], "eos_token_id": [1, 2])"), "q");
  EXPECT_TRUE(c.q_bias && c.k_bias && c.v_bias);
  EXPECT_FALSE(c.o_bias);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{1, 2}));
}

TEST(Config, LlamaFlagsPerLayerWidthsAndRopeScaling) {
  const auto c = parse_model_config(
      R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
          "intermediate_size": [128, 256], "vocab_size": 100, "attention_bias": true, "mlp_bias": true,
          "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                           "original_max_position_embeddings": 8192}})",
      "l");
  EXPECT_TRUE(c.o_bias && c.mlp_bias);
  EXPECT_EQ(c.n_heads_kv, 4);
  EXPECT_EQ(c.intermediate_size, (std::vector<int64_t>{128, 256}));
  EXPECT_EQ(c.rope.scaling, RopeScaling::kLlama3);
}

TEST(Config, ErrorsNameTheField) {
  auto expect_error = [](const std::string& json, const std::string& needle) {
    try {
      parse_model_config(json, "cfg.json");
      FAIL() << "no error for " << json;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cfg.json"), std::string::npos);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error(R"({"architectures": ["LlamaForCausalLM"]})", "hidden_size");
  expect_error(base(R"("architectures": ["GPT2LMHeadModel"])"), "unknown architecture");
  expect_error(base(R"("architectures": ["LlamaForCausalLM"], "num_key_value_heads": 3)"), "multiple");
  expect_error(base(R"("architectures": ["LlamaForCausalLM"], "hidden_act": "gelu")"), "hidden_act");
  expect_error(base(R"("architectures": ["LlamaForCausalLM"], "rope_scaling": {"type": "yarn"})"), "yarn");
  expect_error(R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 1e999})", "invalid JSON");
}

}  // namespace
}  // namespace pangu
