// Bad input gives one line naming the file and the problem, a non-zero exit, and no crash (this suite also
// runs under ASan + UBSan).
#include <gtest/gtest.h>

#include <filesystem>

#include "io/safetensors.h"
#include "pangu/error.h"
#include "pangu/model.h"
#include "pangu/tokenizer.h"
#include "test_util.h"

namespace pangu {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

// Rewrites the tensors of the checkpoint in src_dir, with `edit` applied to the list, into dst_dir.
void write_edited_checkpoint(const std::string& src_dir, const std::string& dst_dir,
                             const std::function<void(std::vector<TensorToWrite>&)>& edit) {
  const Checkpoint original = Checkpoint::open_dir(src_dir);
  std::vector<TensorToWrite> tensors;
  for (const auto& [name, view] : original.tensors()) {
    const TensorView* v = &view;
    tensors.push_back({name, v->dtype, v->shape, [v](uint8_t* dst) { std::memcpy(dst, v->data, v->n_bytes); }});
  }
  edit(tensors);
  write_safetensors(dst_dir + "/model.safetensors", tensors);
}

// A model directory made from tiny-pangu-random with `edit` applied to its tensor list.
std::string make_model(const TempDir& tmp, const std::function<void(std::vector<TensorToWrite>&)>& edit) {
  const std::string src = test::shared("models/tiny-pangu-random");
  const std::string dir = tmp / "model";
  fs::create_directories(dir);
  fs::copy_file(src + "/config.json", dir + "/config.json");
  write_edited_checkpoint(src, dir, edit);
  return dir;
}

std::string raw_safetensors(const std::string& header, size_t data_bytes, uint64_t claimed_len = 0) {
  std::string out(8, '\0');
  const uint64_t len = claimed_len ? claimed_len : header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(len >> (8 * i));
  return out + header + std::string(data_bytes, '\0');
}

// Runs `pangu info` on dir and checks the one-line error.
void expect_error(const std::string& dir, const std::vector<std::string>& must_contain) {
  const auto r = test::run_pangu("info -m " + dir);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_LT(r.exit_code, 128) << "killed by a signal";
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("pangu: error: ", 0), 0u) << r.err;
  for (const auto& s : must_contain)
    EXPECT_NE(r.err.find(s), std::string::npos) << "missing '" << s << "' in " << r.err;
}

TEST(BadInput, ModelDirectoryMissing) {
  expect_error("/nonexistent/model", {"/nonexistent/model", "not found"});
  // An absolute path is named once, not once per search root.
  const auto r = test::run_pangu("run -m /nonexistent/model -p x");
  EXPECT_EQ(r.err.find("/nonexistent/model"), r.err.rfind("/nonexistent/model")) << r.err;
}

TEST(BadInput, ConfigMissing) {
  TempDir tmp;
  fs::create_directories(tmp / "m");
  expect_error(tmp / "m", {"config.json", "cannot open"});
}

TEST(BadInput, ConfigInvalidJson) {
  TempDir tmp;
  const std::string dir = make_model(tmp, [](auto&) {});
  test::write_text(dir + "/config.json", "{\"hidden_size\": 256,");
  expect_error(dir, {"config.json", "invalid JSON"});
}

TEST(BadInput, UnknownArchitecture) {
  TempDir tmp;
  const std::string dir = make_model(tmp, [](auto&) {});
  auto config = test::read_json(dir + "/config.json");
  config["architectures"] = {"MambaForCausalLM"};
  config["model_type"] = "mamba";
  test::write_text(dir + "/config.json", config.dump());
  expect_error(dir, {"config.json", "unknown architecture", "MambaForCausalLM"});
}

TEST(BadInput, ConfigFieldWrongType) {
  TempDir tmp;
  const std::string dir = make_model(tmp, [](auto&) {});
  auto config = test::read_json(dir + "/config.json");
  config["num_hidden_layers"] = "two";
  test::write_text(dir + "/config.json", config.dump());
  expect_error(dir, {"config.json", "num_hidden_layers", "wrong type"});
}

TEST(BadInput, MissingTensor) {
  TempDir tmp;
  const std::string dir = make_model(tmp, [](auto& t) {
    t.erase(std::remove_if(t.begin(), t.end(),
                           [](auto& x) { return x.name == "model.layers.1.mlp.up_proj.weight"; }),
            t.end());
  });
  expect_error(dir, {"model.safetensors", "missing tensor", "model.layers.1.mlp.up_proj.weight"});
}

TEST(BadInput, WrongShape) {
  TempDir tmp;
  const std::string dir = make_model(tmp, [](auto& t) {
    for (auto& x : t)
      if (x.name == "model.layers.0.self_attn.q_proj.weight") std::swap(x.shape[0], x.shape[1]);
  });
  expect_error(dir,
               {"model.safetensors", "model.layers.0.self_attn.q_proj.weight", "[256, 512]", "[512, 256]"});
}

TEST(BadInput, WrongDtype) {
  TempDir tmp;
  const std::string dir = make_model(tmp, [](auto& t) {
    for (auto& x : t)
      if (x.name == "model.norm.weight") {
        x.dtype = DType::kI8;
        x.fill = [](uint8_t* d) { std::memset(d, 1, 256); };
      }
  });
  expect_error(dir, {"model.norm.weight", "I8"});
}

TEST(BadInput, TruncatedFile) {
  TempDir tmp;
  const std::string dir = make_model(tmp, [](auto&) {});
  fs::resize_file(dir + "/model.safetensors", fs::file_size(dir + "/model.safetensors") / 2);
  expect_error(dir, {"model.safetensors", "out of range"});
}

TEST(BadInput, FileShorterThanLengthField) {
  TempDir tmp;
  fs::create_directories(tmp / "m");
  fs::copy_file(test::shared("models/tiny-pangu-random/config.json"), tmp / "m/config.json");
  test::write_text(tmp / "m/model.safetensors", "abc");
  expect_error(tmp / "m", {"model.safetensors", "truncated"});
}

TEST(BadInput, HeaderLongerThanFile) {
  TempDir tmp;
  fs::create_directories(tmp / "m");
  fs::copy_file(test::shared("models/tiny-pangu-random/config.json"), tmp / "m/config.json");
  test::write_text(tmp / "m/model.safetensors", raw_safetensors("{}", 0, 1000));
  expect_error(tmp / "m", {"model.safetensors", "header length 1000"});
}

TEST(BadInput, OverlappingOffsets) {
  TempDir tmp;
  fs::create_directories(tmp / "m");
  fs::copy_file(test::shared("models/tiny-pangu-random/config.json"), tmp / "m/config.json");
  const std::string header =
      R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})";
  test::write_text(tmp / "m/model.safetensors", raw_safetensors(header, 24));
  expect_error(tmp / "m", {"model.safetensors", "overlap"});
}

TEST(BadInput, OffsetsOutOfRangeOrInconsistent) {
  TempDir tmp;
  fs::create_directories(tmp / "m");
  fs::copy_file(test::shared("models/tiny-pangu-random/config.json"), tmp / "m/config.json");
  test::write_text(tmp / "m/model.safetensors",
                   raw_safetensors(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8));
  expect_error(tmp / "m", {"model.safetensors", "\"a\"", "out of range"});
  test::write_text(tmp / "m/model.safetensors",
                   raw_safetensors(R"({"a":{"dtype":"F32","shape":[5],"data_offsets":[0,16]}})", 16));
  expect_error(tmp / "m", {"model.safetensors", "needs 20 bytes"});
}

TEST(BadInput, HeaderNotJson) {
  TempDir tmp;
  fs::create_directories(tmp / "m");
  fs::copy_file(test::shared("models/tiny-pangu-random/config.json"), tmp / "m/config.json");
  test::write_text(tmp / "m/model.safetensors", raw_safetensors("{not json", 0));
  expect_error(tmp / "m", {"model.safetensors", "invalid JSON"});
}

TEST(BadInput, ShardIndexNamesMissingShard) {
  TempDir tmp;
  fs::create_directories(tmp / "m");
  fs::copy_file(test::shared("models/tiny-pangu-random/config.json"), tmp / "m/config.json");
  test::write_text(tmp / "m/model.safetensors.index.json",
                   R"({"weight_map": {"model.norm.weight": "model-00001-of-00002.safetensors"}})");
  expect_error(tmp / "m", {"model-00001-of-00002.safetensors", "cannot open"});
}

TEST(BadInput, ShardIndexEscapingTheDirectory) {
  TempDir tmp;
  fs::create_directories(tmp / "m");
  fs::copy_file(test::shared("models/tiny-pangu-random/config.json"), tmp / "m/config.json");
  test::write_text(tmp / "m/model.safetensors.index.json", R"({"weight_map": {"x": "../../etc/passwd"}})");
  expect_error(tmp / "m", {"model.safetensors.index.json", "outside the directory"});
}

TEST(BadInput, TokenizerJsonProblemsNameTheFile) {
  EXPECT_THROW(parse_tokenizer_json("{", "tok.json"), Error);
  try {
    parse_tokenizer_json(R"({"model":{"type":"BPE","vocab":{"a":0},"merges":["a b"]}})", "tok.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tok.json"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("merge 0"), std::string::npos);
  }
  try {
    parse_tokenizer_json(R"({"model":{"type":"Unigram","vocab":[]}})", "tok.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Unigram"), std::string::npos);
  }
}

TEST(BadInput, BadPromptIdsAndMissingTokenizer) {
  const std::string model = test::shared("models/tiny-pangu-random");
  auto r = test::run_pangu("run -m " + model + " -p hello");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--ids"), std::string::npos) << r.err;
  r = test::run_pangu("run -m " + model + " --ids 1,x,3");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("\"x\""), std::string::npos) << r.err;
  r = test::run_pangu("run -m " + model + " --ids 1,99999");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("99999"), std::string::npos) << r.err;
}

// A W8A16 copy of tiny-pangu-random made by `pangu quantize`, with `edit` applied to its tensor list.
std::string make_quantized_model(const TempDir& tmp,
                                 const std::function<void(std::vector<TensorToWrite>&)>& edit) {
  const std::string good = tmp / "good";
  const auto r = test::run_pangu("quantize -m " + test::shared("models/tiny-pangu-random") + " -o " + good);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string dir = tmp / "model";
  fs::create_directories(dir);
  for (const char* name : {"config.json", "quant_model_description.json"})
    fs::copy_file(good + "/" + name, dir + "/" + name);
  write_edited_checkpoint(good, dir, edit);
  return dir;
}

TensorToWrite& find_tensor(std::vector<TensorToWrite>& tensors, const std::string& name) {
  for (auto& t : tensors)
    if (t.name == name) return t;
  throw std::runtime_error("no tensor " + name);
}

TEST(BadInput, QuantizedModelLoadsWhenIntact) {
  TempDir tmp;
  const auto r = test::run_pangu("info -m " + make_quantized_model(tmp, [](auto&) {}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("w8a16"), std::string::npos) << r.out;
}

TEST(BadInput, QuantizedMissingScale) {
  TempDir tmp;
  const std::string dir = make_quantized_model(tmp, [](auto& t) {
    t.erase(std::remove_if(t.begin(), t.end(),
                           [](const auto& x) { return x.name == "model.layers.1.mlp.up_proj.weight_scale"; }),
            t.end());
  });
  expect_error(dir, {"model.safetensors", "model.layers.1.mlp.up_proj.weight_scale", "missing"});
}

TEST(BadInput, QuantizedScaleOfWrongShape) {
  TempDir tmp;
  const std::string dir = make_quantized_model(tmp, [](auto& t) {
    auto& s = find_tensor(t, "model.layers.0.self_attn.k_proj.weight_scale");
    s.shape = {s.shape[0] / 2, 2};
  });
  expect_error(dir, {"model.layers.0.self_attn.k_proj.weight_scale", "groups per row"});
  TempDir tmp2;
  const std::string dir2 = make_quantized_model(tmp2, [](auto& t) {
    auto& s = find_tensor(t, "model.layers.0.self_attn.k_proj.weight_scale");
    s.shape = {s.shape[0] - 1, 1};
  });
  expect_error(dir2, {"model.layers.0.self_attn.k_proj.weight_scale", "has shape", "expected"});
}

TEST(BadInput, QuantizedCodesOfWrongSizeOrType) {
  TempDir tmp;
  const std::string dir = make_quantized_model(tmp, [](auto& t) {
    auto& w = find_tensor(t, "model.layers.0.mlp.down_proj.weight");
    w.shape[1] -= 8;
  });
  expect_error(dir, {"model.layers.0.mlp.down_proj.weight", "I8", "expected I8"});
  TempDir tmp2;
  const std::string dir2 = make_quantized_model(tmp2, [](auto& t) {
    auto& w = find_tensor(t, "model.layers.0.mlp.down_proj.weight");
    w.dtype = DType::kU8;
  });
  expect_error(dir2, {"model.layers.0.mlp.down_proj.weight", "U8", "expected I8"});
}

TEST(BadInput, QuantizedDescriptionMissing) {
  TempDir tmp;
  const std::string dir = make_quantized_model(tmp, [](auto&) {});
  fs::remove(dir + "/quant_model_description.json");
  expect_error(dir, {"quant_model_description_w8a16.json", "quant_model_description.json", "missing"});
}

}  // namespace
}  // namespace pangu
