// The CLI contract scripts rely on: `pangu run` stdout/stderr, --ids, --print-ids, --logits-out, synth, info.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "test_util.h"

namespace pangu {
namespace {

using test::run_pangu;
using test::shared;

std::string join(const std::vector<int32_t>& ids, const char* sep) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? sep : "") + std::to_string(ids[i]);
  return s;
}

TEST(Cli, RunIdsPrintIdsMatchesGoldenAndLogitsOut) {
  test::TempDir tmp;
  const auto golden = test::read_json(shared("models/zh-poem-750K/golden.json"));
  const auto& c = golden["cases"][1];
  const auto prompt = c["prompt_ids"].get<std::vector<int32_t>>();
  const auto want = c["greedy_ids"].get<std::vector<int32_t>>();
  const auto r =
      run_pangu("run -m " + shared("models/zh-poem-750K") + " --ids " + join(prompt, ",") + " -n " +
                std::to_string(want.size()) + " --greedy --print-ids --logits-out " + (tmp / "l.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, join(want, " ") + "\n");
  EXPECT_NE(r.err.find("tokens/s"), std::string::npos);
  const auto logits = test::read_json(tmp / "l.json")["logits"];
  ASSERT_EQ(logits.size(), want.size());
  const auto first = c["first_step_logits"].get<std::vector<double>>();
  for (size_t i = 0; i < first.size(); ++i) ASSERT_NEAR(logits[0][i].get<double>(), first[i], 1e-3);
}

TEST(Cli, RunTextStreamsOnlyGeneratedText) {
  const auto golden = test::read_json(shared("models/stories260K/golden.json"));
  const auto& c = golden["cases"][0];
  const auto r =
      run_pangu("run -m " + shared("models/stories260K") + " -p 'Once upon a time' -n 64 --greedy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, c["greedy_text"].get<std::string>() + "\n");
}

TEST(Cli, StopStringEndsGenerationBeforeIt) {
  const auto r = run_pangu("run -m " + shared("models/stories260K") +
                           " -p 'Once upon a time' -n 64 --greedy --stop Lily");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, ", there was a little girl named \n");
  EXPECT_NE(r.err.find("stop: stop"), std::string::npos);
}

TEST(Cli, SamplingIsReproducibleWithASeed) {
  const std::string cmd = "run -m " + shared("models/stories260K") + " -p 'Tom' -n 30 --seed 5 --temp 1.0";
  const auto a = run_pangu(cmd), b = run_pangu(cmd);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
}

TEST(Cli, ChatAnswersEachLineFromStdin) {
  test::TempDir tmp;
  test::write_text(tmp / "in", "Once upon a time\nThe dog\n");
  const auto r = run_pangu("chat -m " + shared("models/stories260K") + " -n 8 --greedy < " + (tmp / "in"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;
}

TEST(Cli, SynthTinyConfigThenInfoAndRun) {
  test::TempDir tmp;
  const std::string out = tmp / "synth";
  auto r = run_pangu("synth --config " + shared("models/tiny-pangu-random/config.json") + " -o " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_pangu("info -m " + out + " --verbose");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("PanguEmbeddedForCausalLM"), std::string::npos);
  EXPECT_NE(r.out.find("model.layers.1.self_attn.o_proj.bias"), std::string::npos);
  r = run_pangu("run -m " + out + " --ids 1,2,3 -n 4 --greedy --print-ids");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream ids(r.out);
  int count = 0, id;
  while (ids >> id) ++count;
  EXPECT_EQ(count, 4);
  r = run_pangu("synth --config " + shared("models/tiny-pangu-random/config.json") + " -o " + out);
  EXPECT_EQ(r.exit_code, 1);  // refuses to overwrite
  EXPECT_NE(r.err.find("--force"), std::string::npos);
}

TEST(Cli, SynthPangu1BReportsRealParameterCountAndSize) {
  test::TempDir tmp;
  const std::string out = tmp / "pangu-1b";
  auto r = run_pangu("synth --config " + shared("models/configs/openpangu-embedded-1b.config.json") + " -o " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_pangu("info -m " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("parameters:   1.156 B"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("weights:      2.15 GiB"), std::string::npos) << r.out;
  r = run_pangu("run -m " + out + " --ids 1,100,200 -n 2 --greedy --print-ids -c 64");
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // W8A16: every linear layer int8 per channel; the tied bf16 embedding stays. The seed's 1.34 GiB bound.
  const std::string q8 = tmp / "pangu-1b-w8a16";
  r = run_pangu("quantize -m " + out + " -o " + q8 + " --scheme w8a16");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_pangu("info -m " + q8);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("quantization: w8a16 (W8A16), 182 matrices, per output channel"), std::string::npos) << r.out;
  const size_t at = r.out.find("weights:");
  ASSERT_NE(at, std::string::npos);
  const double bytes = std::stod(r.out.substr(r.out.find('(', at) + 1));
  EXPECT_LE(bytes, 1.34 * 1024 * 1024 * 1024);
  EXPECT_GE(bytes, 1.25 * 1024 * 1024 * 1024);
  r = run_pangu("run -m " + q8 + " --ids 1,100,200 -n 2 --greedy --print-ids -c 64");
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// An untied model (tiny-pangu-random's config with its own head): --lm-head quantizes the head,
// --exclude keeps the matching matrices in float, and the description file says so tensor by tensor.
TEST(Cli, QuantizeLmHeadAndExclude) {
  test::TempDir tmp;
  auto config = test::read_json(shared("models/tiny-pangu-random/config.json"));
  config["tie_word_embeddings"] = false;
  test::write_text(tmp / "config.json", config.dump());
  auto r = run_pangu("synth --config " + (tmp / "config.json") + " -o " + (tmp / "untied"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_pangu("quantize -m " + (tmp / "untied") + " -o " + (tmp / "q") + " --lm-head --exclude 'mlp\\.down_proj'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto d = test::read_json(tmp / "q/quant_model_description.json");
  EXPECT_EQ(d["model_quant_type"], "W8A16");
  EXPECT_EQ(d["lm_head.weight"], "W8A16");
  EXPECT_EQ(d["lm_head.weight_scale"], "W8A16");
  EXPECT_EQ(d["model.layers.0.mlp.down_proj.weight"], "FLOAT");
  EXPECT_EQ(d["model.layers.1.mlp.up_proj.weight"], "W8A16");
  EXPECT_EQ(d["model.embed_tokens.weight"], "FLOAT");
  EXPECT_EQ(test::read_json(tmp / "q/config.json")["quantize"], "w8a16");
  r = run_pangu("run -m " + (tmp / "q") + " --ids 1,2,3 -n 3 --greedy --print-ids");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // Without --lm-head the head stays float; a second run refuses to overwrite without --force.
  r = run_pangu("quantize -m " + (tmp / "untied") + " -o " + (tmp / "q"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  r = run_pangu("quantize -m " + (tmp / "untied") + " -o " + (tmp / "q") + " --force");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::read_json(tmp / "q/quant_model_description.json")["lm_head.weight"], "FLOAT");
}

TEST(Cli, SpeculativeRunMatchesPlainAndReportsStatistics) {
  test::TempDir tmp;
  const std::string model = shared("models/stories260K");
  const std::string prompt = " -p 'Tom said, \"I like the red ball.\" Tom said,' -n 48 --greedy --print-ids";
  const auto plain = run_pangu("run -m " + model + prompt);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const auto pld = run_pangu("run -m " + model + prompt + " --spec pld -v --stats-json " + (tmp / "s.json"));
  ASSERT_EQ(pld.exit_code, 0) << pld.err;
  EXPECT_EQ(pld.out, plain.out);
  EXPECT_NE(pld.err.find("speculation:"), std::string::npos) << pld.err;
  const auto stats = test::read_json(tmp / "s.json");
  EXPECT_EQ(stats["spec"], "pld");
  EXPECT_GT(stats["speculation"]["proposed"].get<int>(), 0);
  EXPECT_EQ(stats["n_generated"].get<int>(), 48);
  // A draft with another vocabulary is refused with both models named.
  const auto bad = run_pangu("run -m " + model + prompt + " --spec draft --draft " + shared("models/zh-poem-750K"));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("zh-poem-750K"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("vocabulary"), std::string::npos) << bad.err;
  const auto missing = run_pangu("run -m " + model + prompt + " --spec draft");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("--draft"), std::string::npos) << missing.err;
  // The draft's confidence bound: lossless with a model drafting for itself, refused out of range or without
  // a draft.
  const auto sure = run_pangu("run -m " + model + prompt + " --spec draft --draft " + model +
                              " --spec-k 8 --spec-p-min 0.5 --stats-json " + (tmp / "p.json"));
  ASSERT_EQ(sure.exit_code, 0) << sure.err;
  EXPECT_EQ(sure.out, plain.out);
  EXPECT_GT(test::read_json(tmp / "p.json")["speculation"]["accepted"].get<int>(), 0);
  for (const char* wrong : {" --spec draft --spec-p-min 1.5", " --spec pld --spec-p-min 0.5"}) {
    const auto r = run_pangu("run -m " + model + prompt + " --draft " + model + wrong);
    EXPECT_EQ(r.exit_code, 1) << wrong;
    EXPECT_NE(r.err.find("--spec-p-min"), std::string::npos) << wrong << ": " << r.err;
  }
}

// Scripts read `pangu bench --json` by llama-bench's field names.
TEST(Cli, BenchJsonHasLlamaBenchFields) {
  const auto r = run_pangu("bench -m " + shared("models/stories260K") + " -t 1 --pp 16 --tg 4 -r 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["n_prompt"], 16);
  EXPECT_EQ(j[0]["n_gen"], 0);
  EXPECT_EQ(j[1]["n_prompt"], 0);
  EXPECT_EQ(j[1]["n_gen"], 4);
  for (const auto& row : j) {
    EXPECT_GT(row["avg_ts"].get<double>(), 0);
    EXPECT_GE(row["stddev_ts"].get<double>(), 0);
    EXPECT_EQ(row["n_threads"], 1);
    EXPECT_EQ(row["model_n_params"], 260032);
    EXPECT_EQ(row["model_size"], 1040128);
    EXPECT_EQ(row["samples_ts"].size(), 2u);
  }
  const auto skip = run_pangu("bench -m " + shared("models/stories260K") + " -t 1 --pp 0 --tg 2 -r 1 --json");
  ASSERT_EQ(skip.exit_code, 0) << skip.err;
  EXPECT_EQ(nlohmann::json::parse(skip.out).size(), 1u);
}

// --int8-head quantizes the tied head at load: the output moves by int8 rounding only.
TEST(Cli, Int8HeadKeepsTheGreedyContinuation) {
  const std::string args = " -p 'Once upon a time' -n 24 --greedy --print-ids";
  const auto plain = run_pangu("run -m " + shared("models/stories260K") + args);
  const auto head = run_pangu("run -m " + shared("models/stories260K") + args + " --int8-head");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  ASSERT_EQ(head.exit_code, 0) << head.err;
  EXPECT_EQ(head.out, plain.out);
}

}  // namespace
}  // namespace pangu
