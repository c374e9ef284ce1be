#include "io/gguf_tokenizer.h"

#include <filesystem>

#include "core/buffer.h"
#include "core/log.h"
#include "io/json_file.h"
#include "io/sentencepiece_vocab.h"
#include "pangu/error.h"
#include "pangu/tokenizer.h"

namespace pangu {

namespace fs = std::filesystem;

namespace {

// Pre-tokenizer regexes as the tokenizer.json files of these families write them, by llama.cpp's
// tokenizer.ggml.pre names.
constexpr const char* kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

const char* pattern_for_pre(const std::string& pre) {
  if (pre == "qwen2" || pre == "deepseek-r1-qwen" || pre == "stablelm2" || pre == "hunyuan") return kQwen2Pattern;
  if (pre == "llama3" || pre == "llama-v3" || pre == "llama-bpe" || pre == "falcon3" || pre == "pixtral")
    return kLlama3Pattern;
  return nullptr;  // GPT-2's own pattern
}

std::string pre_for_pattern(const std::string& pattern) {
  if (pattern == kQwen2Pattern) return "qwen2";
  if (pattern == kLlama3Pattern) return "llama-bpe";
  return {};
}

Tokenizer::Specials specials_from(const GgufFile& f, bool add_bos_default) {
  Tokenizer::Specials s;
  auto id = [&](const char* key) -> std::optional<int32_t> {
    const auto v = f.get_int(key);
    if (!v) return std::nullopt;
    if (*v < 0 || *v > (1 << 24)) fail("{}: metadata \"{}\" is {}, not a token id", f.origin, key, *v);
    return static_cast<int32_t>(*v);
  };
  s.bos = id("tokenizer.ggml.bos_token_id");
  s.eos = id("tokenizer.ggml.eos_token_id");
  s.pad = id("tokenizer.ggml.padding_token_id");
  s.add_bos = f.get_bool("tokenizer.ggml.add_bos_token").value_or(add_bos_default);
  s.add_eos = f.get_bool("tokenizer.ggml.add_eos_token").value_or(false);
  s.chat_template = f.get_string("tokenizer.chat_template");
  return s;
}

std::vector<int32_t> token_types(const GgufFile& f, size_t n) {
  std::vector<int32_t> types(n, static_cast<int32_t>(PieceType::kNormal));
  if (const auto* stored = f.get_ints("tokenizer.ggml.token_type")) {
    if (stored->size() != n)
      fail("{}: tokenizer.ggml.token_type has {} entries for {} tokens", f.origin, stored->size(), n);
    for (size_t i = 0; i < n; ++i) {
      if ((*stored)[i] < 1 || (*stored)[i] > 6)
        fail("{}: tokenizer.ggml.token_type[{}] is {}, expected 1 to 6", f.origin, i, (*stored)[i]);
      types[i] = static_cast<int32_t>((*stored)[i]);
    }
  }
  return types;
}

std::unique_ptr<Tokenizer> sentencepiece_from_gguf(const GgufFile& f, const std::vector<std::string>& tokens) {
  SpmVocab v;
  v.pieces = tokens;
  const std::vector<double> scores = f.get_reals("tokenizer.ggml.scores");
  if (!scores.empty() && scores.size() != tokens.size())
    fail("{}: tokenizer.ggml.scores has {} entries for {} tokens", f.origin, scores.size(), tokens.size());
  v.scores.assign(tokens.size(), 0.0f);
  for (size_t i = 0; i < scores.size(); ++i) v.scores[i] = static_cast<float>(scores[i]);
  v.types = token_types(f, tokens.size());
  // Absent switches take what llama.cpp's SentencePiece tokenizer does: it merges over the whole text (so
  // runs of spaces may merge: whitespace-only pieces), keeps every space and leaves digits to the merges.
  v.add_dummy_prefix = f.get_bool("tokenizer.ggml.add_space_prefix").value_or(true);
  v.remove_extra_whitespaces = f.get_bool("tokenizer.ggml.remove_extra_whitespaces").value_or(false);
  v.split_digits = f.get_bool("pangu.tokenizer.split_digits").value_or(false);
  v.allow_whitespace_only_pieces = f.get_bool("pangu.tokenizer.allow_whitespace_only_pieces").value_or(true);
  v.treat_whitespace_as_suffix = f.get_bool("pangu.tokenizer.treat_whitespace_as_suffix").value_or(false);
  SpmSpecialIds ids;
  const Tokenizer::Specials s = specials_from(f, true);
  ids.bos = s.bos;
  ids.eos = s.eos;
  ids.pad = s.pad;
  if (const auto unk = f.get_int("tokenizer.ggml.unknown_token_id")) ids.unk = static_cast<int32_t>(*unk);
  for (size_t i = 0; i < v.types.size() && !ids.unk; ++i)
    if (v.types[i] == static_cast<int32_t>(PieceType::kUnknown)) ids.unk = static_cast<int32_t>(i);
  auto tokenizer = sentencepiece_from_vocab(v, ids, f.origin + " (tokenizer.ggml.tokens)");
  tokenizer->set_specials(s);
  return tokenizer;
}

// A byte-level BPE: the tokenizer.json that GGUF's fields describe, read by the tokenizer.json parser.
std::unique_ptr<Tokenizer> byte_level_bpe_from_gguf(const GgufFile& f, const std::vector<std::string>& tokens) {
  const std::vector<int32_t> types = token_types(f, tokens.size());
  Json vocab = Json::object();
  Json added = Json::array();
  for (size_t i = 0; i < tokens.size(); ++i) {
    const auto type = static_cast<PieceType>(types[i]);
    if (type == PieceType::kControl || type == PieceType::kUserDefined) {
      added.push_back({{"id", i}, {"content", tokens[i]}, {"special", type == PieceType::kControl}});
    } else if (type != PieceType::kUnused && !vocab.contains(tokens[i])) {
      vocab[tokens[i]] = i;
    }
  }
  Json merges = Json::array();
  if (const auto* stored = f.get_strings("tokenizer.ggml.merges")) {
    for (const std::string& m : *stored) {
      // A merge names two vocabulary pieces; llama.cpp skips the ones that do not, and so do we.
      const size_t space = m.find(' ', 1);
      if (space == std::string::npos) continue;
      const std::string a = m.substr(0, space), b = m.substr(space + 1);
      if (vocab.contains(a) && vocab.contains(b) && vocab.contains(a + b)) merges.push_back(Json::array({a, b}));
    }
  }
  const std::string pre = f.get_string("tokenizer.ggml.pre").value_or("default");
  Json pre_tokenizer;
  if (const char* pattern = pattern_for_pre(pre)) {
    pre_tokenizer = {{"type", "Sequence"},
                     {"pretokenizers",
                      Json::array({{{"type", "Split"}, {"pattern", {{"Regex", pattern}}}, {"behavior", "Isolated"},
                                    {"invert", false}},
                                   {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}})}};
  } else {
    if (pre != "default" && pre != "gpt-2" && pre != "gpt2")
      log_info("{}: tokenizer.ggml.pre \"{}\" is not one pangu knows; using GPT-2's pre-tokenizer", f.origin, pre);
    pre_tokenizer = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  }
  const Json j = {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
                  {"pre_tokenizer", pre_tokenizer},
                  {"decoder", {{"type", "ByteLevel"}}},
                  {"added_tokens", added}};
  auto tokenizer = parse_tokenizer_json(j.dump(), f.origin + " (tokenizer.ggml.tokens)");
  tokenizer->set_specials(specials_from(f, false));
  return tokenizer;
}

}  // namespace

std::unique_ptr<Tokenizer> tokenizer_from_gguf(const GgufFile& f) {
  if (const auto hf = f.get_string("tokenizer.huggingface.json")) {
    auto tokenizer = parse_tokenizer_json(*hf, f.origin + " tokenizer.huggingface.json");
    Tokenizer::Specials s = specials_from(f, false);
    if (!tokenizer->encode("", true).empty()) s.add_bos = s.add_eos = std::nullopt;  // its template adds them
    tokenizer->set_specials(s);
    return tokenizer;
  }
  const auto model = f.get_string("tokenizer.ggml.model");
  if (!model || *model == "none") return nullptr;
  const auto* tokens = f.get_strings("tokenizer.ggml.tokens");
  if (!tokens || tokens->empty()) fail("{}: tokenizer.ggml.model is \"{}\" but tokenizer.ggml.tokens is missing", f.origin, *model);
  if (*model == "llama") return sentencepiece_from_gguf(f, *tokens);
  if (*model == "gpt2") return byte_level_bpe_from_gguf(f, *tokens);
  fail("{}: tokenizer.ggml.model \"{}\" is not supported (llama, gpt2)", f.origin, *model);
}

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const std::string& path) {
  const MappedFile file(path);
  return tokenizer_from_gguf(parse_gguf(file.data(), file.size(), path));
}

namespace {

// What a loaded tokenizer adds around a text (BOS / EOS), and its special ids, as GGUF keys.
void add_specials(const Tokenizer& t, std::vector<std::pair<std::string, GgufValue>>& md) {
  const std::vector<int32_t> around = t.encode("", true);
  if (t.bos_id()) md.emplace_back("tokenizer.ggml.bos_token_id", GgufValue::of_u32(static_cast<uint32_t>(*t.bos_id())));
  if (t.eos_id()) md.emplace_back("tokenizer.ggml.eos_token_id", GgufValue::of_u32(static_cast<uint32_t>(*t.eos_id())));
  if (t.pad_id()) md.emplace_back("tokenizer.ggml.padding_token_id", GgufValue::of_u32(static_cast<uint32_t>(*t.pad_id())));
  md.emplace_back("tokenizer.ggml.add_bos_token", GgufValue::of_bool(t.bos_id() && !around.empty() && around.front() == *t.bos_id()));
  md.emplace_back("tokenizer.ggml.add_eos_token", GgufValue::of_bool(t.eos_id() && !around.empty() && around.back() == *t.eos_id()));
  if (!t.chat_template().empty()) md.emplace_back("tokenizer.chat_template", GgufValue::of_string(t.chat_template()));
}

std::string pad_token(size_t i) { return "[PAD" + std::to_string(i) + "]"; }

}  // namespace

std::vector<std::pair<std::string, GgufValue>> gguf_tokenizer_metadata(const std::string& dir,
                                                                       const GgufTokenizerOptions& options) {
  std::vector<std::pair<std::string, GgufValue>> md;
  const fs::path model_path = fs::path(dir) / "tokenizer.model";
  const fs::path json_path = fs::path(dir) / "tokenizer.json";
  if (fs::exists(model_path)) {
    SpmVocab v = read_sentencepiece_vocab(model_path.string());
    const auto tokenizer = load_sentencepiece(model_path.string());
    // llama.cpp wants one token per embedding row: rows past the vocabulary are unused padding tokens.
    for (size_t i = v.pieces.size(); static_cast<int64_t>(i) < options.vocab_size; ++i) {
      v.pieces.push_back(pad_token(i));
      v.scores.push_back(-10000.0f);
      v.types.push_back(static_cast<int32_t>(PieceType::kUnused));
    }
    // llama.cpp has no user-defined SentencePiece type of its own; its converter stores them as normal.
    for (int32_t& type : v.types)
      if (type == static_cast<int32_t>(PieceType::kUserDefined)) type = static_cast<int32_t>(PieceType::kNormal);
    md.emplace_back("tokenizer.ggml.model", GgufValue::of_string("llama"));
    md.emplace_back("tokenizer.ggml.tokens", GgufValue::of_strings(v.pieces));
    md.emplace_back("tokenizer.ggml.scores", GgufValue::of_f32s(v.scores));
    md.emplace_back("tokenizer.ggml.token_type", GgufValue::of_i32s({v.types.begin(), v.types.end()}));
    md.emplace_back("tokenizer.ggml.add_space_prefix", GgufValue::of_bool(v.add_dummy_prefix));
    md.emplace_back("tokenizer.ggml.remove_extra_whitespaces", GgufValue::of_bool(v.remove_extra_whitespaces));
    // SentencePiece switches GGUF has no key for (llama.cpp ignores ours); pangu reads them back.
    md.emplace_back("pangu.tokenizer.split_digits", GgufValue::of_bool(v.split_digits));
    md.emplace_back("pangu.tokenizer.allow_whitespace_only_pieces", GgufValue::of_bool(v.allow_whitespace_only_pieces));
    md.emplace_back("pangu.tokenizer.treat_whitespace_as_suffix", GgufValue::of_bool(v.treat_whitespace_as_suffix));
    for (size_t i = 0; i < v.types.size(); ++i)
      if (v.types[i] == static_cast<int32_t>(PieceType::kUnknown)) {
        md.emplace_back("tokenizer.ggml.unknown_token_id", GgufValue::of_u32(static_cast<uint32_t>(i)));
        break;
      }
    add_specials(*tokenizer, md);
    return md;
  }
  if (!fs::exists(json_path)) return md;
  const std::string text = read_text_file(json_path.string(), "");
  const Json j = parse_json_text(text, json_path.string());
  const auto tokenizer = load_tokenizer_json(json_path.string());
  std::map<int64_t, std::pair<std::string, PieceType>> by_id;
  const Json model = json_required<Json>(j, "model", json_path.string());
  const Json vocab = json_required<Json>(model, "vocab", json_path.string());
  for (const auto& [piece, id] : vocab.items()) by_id[id.get<int64_t>()] = {piece, PieceType::kNormal};
  if (auto added = j.find("added_tokens"); added != j.end() && added->is_array())
    for (const auto& t : *added)
      by_id[t.at("id").get<int64_t>()] = {t.at("content").get<std::string>(),
                                          t.value("special", false) ? PieceType::kControl : PieceType::kUserDefined};
  const int64_t n = std::max<int64_t>(options.vocab_size, by_id.empty() ? 0 : by_id.rbegin()->first + 1);
  std::vector<std::string> tokens(static_cast<size_t>(n));
  std::vector<int64_t> types(static_cast<size_t>(n), static_cast<int64_t>(PieceType::kUnused));
  for (int64_t i = 0; i < n; ++i) tokens[static_cast<size_t>(i)] = pad_token(static_cast<size_t>(i));
  for (const auto& [id, entry] : by_id) {
    if (id < 0 || id >= n) continue;
    tokens[static_cast<size_t>(id)] = entry.first;
    types[static_cast<size_t>(id)] = static_cast<int64_t>(entry.second);
  }
  std::vector<std::string> merges;
  if (auto m = model.find("merges"); m != model.end() && m->is_array())
    for (const auto& merge : *m)
      merges.push_back(merge.is_string() ? merge.get<std::string>()
                                         : merge.at(0).get<std::string>() + " " + merge.at(1).get<std::string>());
  std::string pre = "default";
  if (auto p = j.find("pre_tokenizer"); p != j.end() && p->is_object()) {
    const Json* split = nullptr;
    if (p->value("type", "") == "Split") split = &*p;
    if (p->value("type", "") == "Sequence" && p->contains("pretokenizers") && p->at("pretokenizers").is_array())
      for (const auto& step : p->at("pretokenizers"))
        if (step.is_object() && step.value("type", "") == "Split") split = &step;
    if (split && split->contains("pattern") && split->at("pattern").contains("Regex")) {
      const std::string known = pre_for_pattern(split->at("pattern").at("Regex").get<std::string>());
      if (!known.empty()) pre = known;
    } else if (p->value("type", "") == "ByteLevel" && p->value("use_regex", true)) {
      pre = "gpt-2";
    }
  }
  md.emplace_back("tokenizer.ggml.model", GgufValue::of_string("gpt2"));
  md.emplace_back("tokenizer.ggml.pre", GgufValue::of_string(pre));
  md.emplace_back("tokenizer.ggml.tokens", GgufValue::of_strings(tokens));
  md.emplace_back("tokenizer.ggml.token_type", GgufValue::of_i32s(types));
  md.emplace_back("tokenizer.ggml.merges", GgufValue::of_strings(merges));
  add_specials(*tokenizer, md);
  if (options.embed_hf_json) md.emplace_back("tokenizer.huggingface.json", GgufValue::of_string(text));
  return md;
}

}  // namespace pangu
