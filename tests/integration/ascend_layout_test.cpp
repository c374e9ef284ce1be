// The W8A16 directory `pangu quantize` writes, checked against what today's Ascend stacks read (their public
// sources; docs/formats.md cites which consumer needs which rule):
//   - vllm-ascend looks only for quant_model_description.json; msModelSlim's ascendV1 saver writes that name
//     with "version" beside "model_quant_type";
//   - vllm-ascend looks lm_head.weight up in the description even for a tied head;
//   - MindIE refuses a torch_dtype other than float16 / bfloat16: an f32 source's float tensors go to bf16;
//   - no quantization_config in config.json (vllm-ascend would take it as the whole description);
//   - offsets are zero (MindIE negates them, vllm-ascend does not).
// And pangu still reads the older variants (suffixed description, quant_model_weight*.safetensors).
#include <gtest/gtest.h>

#include <filesystem>

#include "io/safetensors.h"
#include "test_util.h"

namespace pangu {
namespace {

namespace fs = std::filesystem;
using test::run_pangu;
using test::shared;

void quantize(const std::string& src, const std::string& out, const std::string& extra = "") {
  const auto r = run_pangu("quantize -m " + src + " -o " + out + " " + extra);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

std::string greedy_ids(const std::string& model) {
  const auto r = run_pangu("run -m " + model + " -p 'Once upon a time' -n 24 --greedy --print-ids");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

TEST(AscendLayout, F32SourceBecomesWhatVllmAscendAndMindIeRead) {
  test::TempDir tmp;
  const std::string out = tmp / "q";
  quantize(shared("models/stories260K"), out);

  EXPECT_TRUE(fs::exists(out + "/quant_model_description.json"));
  EXPECT_FALSE(fs::exists(out + "/quant_model_description_w8a16.json"));
  const auto description = test::read_json(out + "/quant_model_description.json");
  EXPECT_EQ(description["version"], "1.0.0");
  EXPECT_EQ(description["model_quant_type"], "W8A16");
  EXPECT_EQ(description["lm_head.weight"], "FLOAT");  // tied: listed, not stored

  const auto config = test::read_json(out + "/config.json");
  EXPECT_EQ(config["quantize"], "w8a16");
  EXPECT_EQ(config["torch_dtype"], "bfloat16");
  EXPECT_FALSE(config.contains("quantization_config"));

  const Checkpoint ckpt = Checkpoint::open_dir(out);
  EXPECT_EQ(ckpt.find("lm_head.weight"), nullptr);
  int n_w8 = 0;
  for (const auto& [name, t] : ckpt.tensors()) {
    SCOPED_TRACE(name);
    const auto ends = [&](const std::string& s) {
      return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
    };
    if (ends(".weight_scale") || ends(".weight_offset")) {
      EXPECT_EQ(t.dtype, DType::kF32);
      ASSERT_EQ(t.shape.size(), 2u);
      EXPECT_EQ(t.shape[1], 1);  // per output channel: [rows, 1]
      if (ends(".weight_offset")) {
        for (int64_t i = 0; i < t.shape[0]; ++i) EXPECT_EQ(t.as<float>()[i], 0.0f);
      }
      continue;
    }
    ASSERT_TRUE(description.contains(name)) << "not in the description";
    if (description[name] == "W8A16") {
      EXPECT_EQ(t.dtype, DType::kI8);
      ++n_w8;
    } else {
      EXPECT_EQ(description[name], "FLOAT");
      EXPECT_EQ(t.dtype, DType::kBF16);  // the source is f32
    }
  }
  EXPECT_EQ(n_w8, 5 * 7);  // q, k, v, o, gate, up, down in each of 5 layers
}

TEST(AscendLayout, F16OnRequestAndQuantizationConfigDropped) {
  test::TempDir tmp;
  const std::string src = tmp / "src";
  fs::create_directories(src);
  for (const auto& entry : fs::directory_iterator(shared("models/stories260K")))
    fs::copy_file(entry.path(), src + "/" + entry.path().filename().string());
  auto config = test::read_json(src + "/config.json");
  config["quantization_config"] = {{"quant_method", "fp8"}};
  test::write_text(src + "/config.json", config.dump());
  const std::string out = tmp / "q";
  quantize(src, out, "--float-dtype f16");
  const auto written = test::read_json(out + "/config.json");
  EXPECT_EQ(written["torch_dtype"], "float16");
  EXPECT_FALSE(written.contains("quantization_config"));
  EXPECT_EQ(Checkpoint::open_dir(out).find("model.norm.weight")->dtype, DType::kF16);
}

TEST(AscendLayout, OlderVariantsStillLoadAndComputeTheSame) {
  test::TempDir tmp;
  const std::string out = tmp / "q";
  quantize(shared("models/stories260K"), out);
  const std::string want = greedy_ids(out);
  ASSERT_FALSE(want.empty());
  // MindIE's deprecated fallback name, and msModelSlim's weight file names.
  fs::rename(out + "/quant_model_description.json", out + "/quant_model_description_w8a16.json");
  EXPECT_EQ(greedy_ids(out), want);
  fs::rename(out + "/model.safetensors", out + "/quant_model_weight_w8a16.safetensors");
  EXPECT_EQ(greedy_ids(out), want);
}

}  // namespace
}  // namespace pangu
