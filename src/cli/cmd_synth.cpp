// pangu synth: a random-weight checkpoint of any config.json, for speed and memory benchmarks at real shapes.
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "cli/common.h"
#include "core/log.h"
#include "io/json_file.h"
#include "io/safetensors.h"
#include "io/staged_dir.h"
#include "model/weights.h"
#include "pangu/error.h"

namespace pangu::cli {

namespace fs = std::filesystem;

namespace {

struct SynthOptions {
  std::string config;
  std::string out;
  std::string dtype = "bf16";
  uint64_t seed = 1;
  std::string tokenizer_dir;
  bool force = false;
};

// xorshift64*: fast enough to fill 2 GiB in seconds; N(0, 0.02)-like values from a scaled uniform.
struct FastRandom {
  uint64_t state;
  float uniform_pm1() {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    const uint64_t r = state * 0x2545F4914F6CDD1DULL;
    return static_cast<float>(static_cast<double>(r >> 11) * (2.0 / 9007199254740992.0) - 1.0);
  }
};

void synth(const SynthOptions& o) {
  const std::string text = read_text_file(o.config, "config");
  Json config_json = parse_json_text(text, o.config);
  const ModelConfig c = parse_model_config(text, o.config);
  DType dtype;
  if (o.dtype == "bf16")
    dtype = DType::kBF16;
  else if (o.dtype == "f16")
    dtype = DType::kF16;
  else if (o.dtype == "f32")
    dtype = DType::kF32;
  else
    fail("--dtype \"{}\": expected bf16, f16 or f32", o.dtype);
  config_json["torch_dtype"] = o.dtype == "bf16" ? "bfloat16" : o.dtype == "f16" ? "float16" : "float32";

  StagedDir staged(o.out, o.force);
  const fs::path tmp = staged.path();

  const auto specs = expected_tensors(c);
  std::vector<TensorToWrite> tensors;
  const float matrix_scale = 0.02f * std::sqrt(3.0f);  // uniform with std 0.02
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec spec = specs[i];
    const uint64_t seed = o.seed * 0x9E3779B97F4A7C15ULL + i + 1;
    tensors.push_back({spec.name, dtype, spec.shape, [spec, seed, dtype, matrix_scale](uint8_t* dst) {
                         int64_t n = 1;
                         for (auto d : spec.shape) n *= d;
                         const bool is_norm = spec.name.find("norm") != std::string::npos;
                         FastRandom rng{seed | 1};
                         for (int64_t k = 0; k < n; ++k) {
                           const float v = is_norm ? 1.0f : rng.uniform_pm1() * matrix_scale;
                           if (dtype == DType::kF32)
                             reinterpret_cast<float*>(dst)[k] = v;
                           else if (dtype == DType::kBF16)
                             reinterpret_cast<uint16_t*>(dst)[k] = f32_to_bf16(v);
                           else
                             reinterpret_cast<uint16_t*>(dst)[k] = f32_to_f16(v);
                         }
                       }});
  }
  {
    Progress progress("synth " + fs::path(o.out).filename().string(), tensors.size());
    write_safetensors((tmp / "model.safetensors").string(), tensors, {{"format", "pt"}},
                      [&](size_t) { progress.advance(); });
  }
  write_text_file_atomic((tmp / "config.json").string(), config_json.dump(2) + "\n");
  Json gen = {{"do_sample", false}};
  if (c.bos_token_id) gen["bos_token_id"] = *c.bos_token_id;
  if (!c.eos_token_ids.empty())
    gen["eos_token_id"] = c.eos_token_ids.size() == 1 ? Json(c.eos_token_ids[0]) : Json(c.eos_token_ids);
  write_text_file_atomic((tmp / "generation_config.json").string(), gen.dump(2) + "\n");
  if (!o.tokenizer_dir.empty()) {
    for (const char* name :
         {"tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json"}) {
      const fs::path src = fs::path(o.tokenizer_dir) / name;
      if (fs::exists(src)) fs::copy_file(src, tmp / name);
    }
  }
  staged.commit();
  log_info("wrote {} ({} tensors, random {} weights)", o.out, tensors.size(), o.dtype);
}

}  // namespace

void register_synth(CLI::App& app) {
  auto o = std::make_shared<SynthOptions>();
  CLI::App* cmd =
      app.add_subcommand("synth", "write a random-weight checkpoint of a config.json (benchmarks)");
  // No -c: that is --ctx in every other command.
  cmd->add_option("--config", o->config, "config.json, e.g. ../shared/models/configs/openpangu-embedded-1b.config.json")
      ->required();
  opt::out(*cmd, o->out)->required();
  cmd->add_option("--dtype", o->dtype, "bf16 | f16 | f32")->capture_default_str();
  opt::seed(*cmd, o->seed)->capture_default_str();
  cmd->add_option("--tokenizer", o->tokenizer_dir, "copy tokenizer files from this directory");
  opt::force(*cmd, o->force);
  cmd->callback([o] { synth(*o); });
}

}  // namespace pangu::cli
