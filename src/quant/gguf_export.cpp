#include "quant/gguf_export.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "core/buffer.h"
#include "core/log.h"
#include "io/gguf.h"
#include "io/gguf_model.h"
#include "io/gguf_tokenizer.h"
#include "io/ggml_quants.h"
#include "kernels/packed.h"
#include "model/weights.h"
#include "pangu/error.h"
#include "pangu/model.h"
#include "pangu/thread_pool.h"

namespace pangu {

namespace fs = std::filesystem;

GgufExportType parse_gguf_export_type(const std::string& name) {
  if (name == "f32") return GgufExportType::kF32;
  if (name == "f16") return GgufExportType::kF16;
  if (name == "bf16") return GgufExportType::kBF16;
  if (name == "q8_0") return GgufExportType::kQ8_0;
  fail("--type {}: expected f32, f16, bf16 or q8_0", name);
}

namespace {

std::string choose_architecture(const ModelConfig& c) {
  const bool uniform = std::adjacent_find(c.intermediate_size.begin(), c.intermediate_size.end(),
                                          std::not_equal_to<>()) == c.intermediate_size.end();
  if (!uniform) return "deci";
  if (c.architecture == "PanguEmbeddedForCausalLM" && c.q_bias && c.k_bias && c.v_bias && c.o_bias && !c.mlp_bias)
    return "pangu-embedded";
  if (c.q_bias && c.k_bias && c.v_bias && !c.o_bias && !c.mlp_bias) return "qwen2";
  return "llama";
}

uint32_t file_type(GgufExportType t) {
  switch (t) {
    case GgufExportType::kF32: return 0;
    case GgufExportType::kF16: return 1;
    case GgufExportType::kQ8_0: return 7;
    case GgufExportType::kBF16: return 32;
  }
  return 0;
}

// Llama 3's frequency scaling as the per-frequency divisors llama.cpp reads from rope_freqs.weight.
std::vector<float> llama3_rope_factors(const ModelConfig& c) {
  std::vector<float> factors;
  const RopeConfig& r = c.rope;
  for (int64_t i = 0; i < c.head_dim / 2; ++i) {
    const double freq = 1.0 / std::pow(r.theta, static_cast<double>(2 * i) / static_cast<double>(c.head_dim));
    const double wavelen = 2 * M_PI / freq;
    const double low_wavelen = r.original_max_position / r.low_freq_factor;
    const double high_wavelen = r.original_max_position / r.high_freq_factor;
    if (wavelen < high_wavelen) {
      factors.push_back(1.0f);
    } else if (wavelen > low_wavelen) {
      factors.push_back(static_cast<float>(r.factor));
    } else {
      const double smooth = (r.original_max_position / wavelen - r.low_freq_factor) /
                            (r.high_freq_factor - r.low_freq_factor);
      factors.push_back(static_cast<float>(1.0 / ((1 - smooth) / r.factor + smooth)));
    }
  }
  return factors;
}

struct ErrorStats {
  std::mutex mutex;
  double sum_sq_err = 0, sum_sq = 0, max_abs = 0;
  size_t matrices = 0;
};

}  // namespace

GgufExportReport export_gguf(const Model& model, const std::string& source, const std::string& out,
                             GgufExportType type, ThreadPool& pool) {
  const ModelConfig& c = model.config();
  const ModelWeights& w = model.weights();
  GgufExportReport report;
  report.architecture = choose_architecture(c);
  const std::string arch = report.architecture;
  const bool interleave = arch == "llama" || arch == "deci";
  const std::string p = arch + ".";

  std::vector<std::pair<std::string, GgufValue>> md;
  md.emplace_back("general.architecture", GgufValue::of_string(arch));
  md.emplace_back("general.name", GgufValue::of_string(fs::path(source).filename().string()));
  md.emplace_back("general.file_type", GgufValue::of_u32(file_type(type)));
  if (type == GgufExportType::kQ8_0) md.emplace_back("general.quantization_version", GgufValue::of_u32(2));
  md.emplace_back(p + "vocab_size", GgufValue::of_u32(static_cast<uint32_t>(c.vocab_size)));
  md.emplace_back(p + "context_length", GgufValue::of_u32(static_cast<uint32_t>(c.max_position_embeddings)));
  md.emplace_back(p + "embedding_length", GgufValue::of_u32(static_cast<uint32_t>(c.hidden_size)));
  md.emplace_back(p + "block_count", GgufValue::of_u32(static_cast<uint32_t>(c.n_layers)));
  if (arch == "deci")
    md.emplace_back(p + "feed_forward_length", GgufValue::of_u32s(c.intermediate_size));
  else
    md.emplace_back(p + "feed_forward_length", GgufValue::of_u32(static_cast<uint32_t>(c.intermediate_size.at(0))));
  md.emplace_back(p + "attention.head_count", GgufValue::of_u32(static_cast<uint32_t>(c.n_heads)));
  md.emplace_back(p + "attention.head_count_kv", GgufValue::of_u32(static_cast<uint32_t>(c.n_heads_kv)));
  md.emplace_back(p + "attention.key_length", GgufValue::of_u32(static_cast<uint32_t>(c.head_dim)));
  md.emplace_back(p + "attention.value_length", GgufValue::of_u32(static_cast<uint32_t>(c.head_dim)));
  md.emplace_back(p + "attention.layer_norm_rms_epsilon", GgufValue::of_f32(static_cast<float>(c.rms_norm_eps)));
  md.emplace_back(p + "rope.freq_base", GgufValue::of_f32(static_cast<float>(c.rope.theta)));
  md.emplace_back(p + "rope.dimension_count", GgufValue::of_u32(static_cast<uint32_t>(c.head_dim)));
  if (c.rope.scaling == RopeScaling::kLinear) {
    md.emplace_back(p + "rope.scaling.type", GgufValue::of_string("linear"));
    md.emplace_back(p + "rope.scaling.factor", GgufValue::of_f32(static_cast<float>(c.rope.factor)));
  }
  const auto& suppress = model.generation_config().suppress_tokens;
  if (!suppress.empty()) md.emplace_back("pangu.suppress_tokens", GgufValue::of_i32s(suppress));

  // The tokenizer: from the source directory's files, or copied from a source GGUF file.
  if (fs::is_regular_file(source)) {
    const MappedFile file(source);
    const GgufFile g = parse_gguf(file.data(), file.size(), source);
    for (const auto& [key, value] : g.metadata)
      if (key.rfind("tokenizer.", 0) == 0 || key.rfind("pangu.tokenizer.", 0) == 0) md.emplace_back(key, value);
  } else {
    GgufTokenizerOptions options;
    options.vocab_size = c.vocab_size;
    auto tokenizer = gguf_tokenizer_metadata(source, options);
    // llama.cpp needs the key; "none" with {arch}.vocab_size gives it placeholder tokens to run ids with.
    if (tokenizer.empty()) tokenizer.emplace_back("tokenizer.ggml.model", GgufValue::of_string("none"));
    for (auto& kv : tokenizer) md.push_back(std::move(kv));
  }

  std::vector<GgufTensorToWrite> tensors;
  ErrorStats stats;
  auto add_vector = [&](const std::string& hf_name, const std::vector<float>& values, int64_t permute_heads) {
    if (values.empty()) return;
    const int64_t n = static_cast<int64_t>(values.size());
    tensors.push_back({gguf_name_from_hf(hf_name), {n}, static_cast<uint32_t>(GgmlType::kF32),
                       static_cast<size_t>(n) * 4, [&values, n, permute_heads](uint8_t* dst) {
                         auto* out = reinterpret_cast<float*>(dst);
                         for (int64_t i = 0; i < n; ++i)
                           out[permute_heads > 0 ? interleaved_rotary_row(i, n, permute_heads) : i] =
                               values[static_cast<size_t>(i)];
                       }});
  };
  auto add_matrix = [&](const std::string& name, const WeightMatrix& m, int64_t permute_heads) {
    if (!m.data)
      fail("export: matrix {} has no row-major data (the model was loaded packed)", name);
    GgufExportType t = type;
    if (t == GgufExportType::kQ8_0 && m.cols % kGgufGroup != 0) {
      log_info("export: {} has {} columns, not a multiple of 32: stored as F16", name, m.cols);
      t = GgufExportType::kF16;
    }
    const uint32_t ggml = t == GgufExportType::kF32    ? static_cast<uint32_t>(GgmlType::kF32)
                          : t == GgufExportType::kF16  ? static_cast<uint32_t>(GgmlType::kF16)
                          : t == GgufExportType::kBF16 ? static_cast<uint32_t>(GgmlType::kBF16)
                                                       : static_cast<uint32_t>(GgmlType::kQ8_0);
    const std::vector<int64_t> dims = {m.cols, m.rows};
    const size_t bytes = *ggml_tensor_bytes(ggml, dims);
    const size_t row_bytes = bytes / static_cast<size_t>(m.rows);
    const bool requantize = t == GgufExportType::kQ8_0 && m.quant != QuantFormat::kNone;
    tensors.push_back({gguf_name_from_hf(name), dims, ggml, bytes,
                       [&m, &pool, &stats, t, row_bytes, permute_heads, requantize](uint8_t* dst) {
      double sum_sq_err = 0, sum_sq = 0, max_abs = 0;
      std::mutex local;
      pool.parallel_for(static_cast<size_t>(m.rows), [&](size_t begin, size_t end) {
        std::vector<float> row(static_cast<size_t>(m.cols)), back(static_cast<size_t>(m.cols));
        double e2 = 0, w2 = 0, mx = 0;
        for (size_t r = begin; r < end; ++r) {
          matrix_row_f32(m, static_cast<int64_t>(r), row.data());
          const int64_t stored =
              permute_heads > 0 ? interleaved_rotary_row(static_cast<int64_t>(r), m.rows, permute_heads)
                                : static_cast<int64_t>(r);
          uint8_t* out = dst + static_cast<size_t>(stored) * row_bytes;
          switch (t) {
            case GgufExportType::kF32: std::memcpy(out, row.data(), row_bytes); break;
            case GgufExportType::kF16:
              for (int64_t i = 0; i < m.cols; ++i) {
                const uint16_t h = f32_to_f16(row[static_cast<size_t>(i)]);
                std::memcpy(out + 2 * i, &h, 2);
              }
              break;
            case GgufExportType::kBF16:
              for (int64_t i = 0; i < m.cols; ++i) {
                const uint16_t h = f32_to_bf16(row[static_cast<size_t>(i)]);
                std::memcpy(out + 2 * i, &h, 2);
              }
              break;
            case GgufExportType::kQ8_0:
              quantize_q8_0_row(row.data(), m.cols, out);
              if (requantize) {
                dequantize_ggml_row(static_cast<uint32_t>(GgmlType::kQ8_0), out, m.cols, back.data());
                for (size_t i = 0; i < row.size(); ++i) {
                  const double e = static_cast<double>(back[i]) - row[i];
                  e2 += e * e;
                  w2 += static_cast<double>(row[i]) * row[i];
                  mx = std::max(mx, std::fabs(e));
                }
              }
              break;
          }
        }
        std::lock_guard<std::mutex> lock(local);
        sum_sq_err += e2;
        sum_sq += w2;
        max_abs = std::max(max_abs, mx);
      });
      if (requantize) {
        std::lock_guard<std::mutex> lock(stats.mutex);
        stats.sum_sq_err += sum_sq_err;
        stats.sum_sq += sum_sq;
        stats.max_abs = std::max(stats.max_abs, max_abs);
        ++stats.matrices;
      }
    }});
  };

  add_matrix("model.embed_tokens.weight", w.embed, 0);
  add_vector("model.norm.weight", w.final_norm, 0);
  if (!c.tie_word_embeddings) add_matrix("lm_head.weight", w.lm_head, 0);
  if (c.rope.scaling == RopeScaling::kLlama3 || c.rope.scaling == RopeScaling::kFactors) {
    std::vector<float> factors = llama3_rope_factors(c);
    if (c.rope.scaling == RopeScaling::kFactors) factors.assign(c.rope.freq_factors.begin(), c.rope.freq_factors.end());
    auto held = std::make_shared<std::vector<float>>(std::move(factors));
    tensors.push_back({"rope_freqs.weight", {static_cast<int64_t>(held->size())}, static_cast<uint32_t>(GgmlType::kF32),
                       held->size() * 4, [held](uint8_t* dst) { std::memcpy(dst, held->data(), held->size() * 4); }});
  }
  for (int64_t i = 0; i < c.n_layers; ++i) {
    const LayerWeights& l = w.layers[static_cast<size_t>(i)];
    const std::string hp = "model.layers." + std::to_string(i) + ".";
    const int64_t q_heads = interleave ? c.n_heads : 0, k_heads = interleave ? c.n_heads_kv : 0;
    add_vector(hp + "input_layernorm.weight", l.attn_norm, 0);
    add_matrix(hp + "self_attn.q_proj.weight", l.wq, q_heads);
    add_vector(hp + "self_attn.q_proj.bias", l.bq, q_heads);
    add_matrix(hp + "self_attn.k_proj.weight", l.wk, k_heads);
    add_vector(hp + "self_attn.k_proj.bias", l.bk, k_heads);
    add_matrix(hp + "self_attn.v_proj.weight", l.wv, 0);
    add_vector(hp + "self_attn.v_proj.bias", l.bv, 0);
    add_matrix(hp + "self_attn.o_proj.weight", l.wo, 0);
    add_vector(hp + "self_attn.o_proj.bias", l.bo, 0);
    add_vector(hp + "post_attention_layernorm.weight", l.mlp_norm, 0);
    add_matrix(hp + "mlp.gate_proj.weight", l.w_gate, 0);
    add_vector(hp + "mlp.gate_proj.bias", l.b_gate, 0);
    add_matrix(hp + "mlp.up_proj.weight", l.w_up, 0);
    add_vector(hp + "mlp.up_proj.bias", l.b_up, 0);
    add_matrix(hp + "mlp.down_proj.weight", l.w_down, 0);
    add_vector(hp + "mlp.down_proj.bias", l.b_down, 0);
  }

  Progress progress("export " + fs::path(out).filename().string(), tensors.size());
  write_gguf(out, md, tensors, [&](size_t) { progress.advance(); });
  progress.finish();
  report.n_tensors = tensors.size();
  report.bytes = static_cast<size_t>(fs::file_size(out));
  report.n_requantized = stats.matrices;
  if (stats.sum_sq > 0) report.requant_relative_rms = std::sqrt(stats.sum_sq_err / stats.sum_sq);
  report.requant_max_abs = stats.max_abs;
  return report;
}

}  // namespace pangu
