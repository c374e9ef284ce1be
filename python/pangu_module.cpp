// The Python module `pangu` (pybind11): models, generation (streaming too), tokenization, logits as numpy
// arrays, perplexity, quantization and intent recognition, on the same library the CLI runs. The GIL is
// released for every computation; library errors raise pangu.Error with the CLI's messages, bad arguments
// raise ValueError naming the keyword.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <map>
#include <mutex>
#include <random>

#include "adapt/lexical_intent.h"
#include "adapt/model_intent.h"
#include "adapt/strategy_choice.h"
#include "adapt/strategy_runtime.h"
#include "eval/perplexity.h"
#include "pangu/chat.h"
#include "pangu/error.h"
#include "pangu/generate.h"
#include "pangu/model.h"
#include "pangu/speculative.h"
#include "pangu/thread_pool.h"
#include "pangu/tokenizer.h"
#include "quant/quantize_model.h"
#include "token_stream.h"

namespace py = pybind11;

namespace pangu::python {

// A loaded model with what running it needs. Held by shared_ptr so a stream or a draft user keeps it alive.
struct LoadedModel {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;  // null when the directory has none
  std::unique_ptr<ThreadPool> pool;
  int64_t n_ctx = 0;
  // One computation at a time on the pool: Python threads may share a model, the pool's workers may not.
  std::mutex compute;

  const Tokenizer& require_tokenizer(const char* what) const {
    PANGU_CHECK(tokenizer, "{}: no tokenizer.json or tokenizer.model; {} needs one (pass token ids instead)",
                model->dir(), what);
    return *tokenizer;
  }
  void check_ids(const std::vector<int32_t>& ids, const char* what) const {
    for (int32_t id : ids)
      if (id < 0 || id >= model->config().vocab_size)
        throw py::value_error(fmt::format("{}: token {} is outside the vocabulary of {}", what, id,
                                          model->config().vocab_size));
  }
};
using ModelRef = std::shared_ptr<LoadedModel>;

ModelRef load_model(const std::string& path, std::optional<int> threads, std::optional<int64_t> n_ctx,
                    bool int8_head) {
  if (threads && (*threads < 1 || *threads > 512))
    throw py::value_error(fmt::format("threads={}: expected 1 to 512", *threads));
  auto m = std::make_shared<LoadedModel>();
  {
    py::gil_scoped_release released;
    const std::string dir = resolve_model_path(path);
    LoadOptions options;
    options.int8_head = int8_head;
    m->model = Model::load(dir, options);
    m->tokenizer = load_tokenizer(dir);
    check_tokenizer_fits(*m->model, m->tokenizer.get());
  }
  const int64_t max_pos = m->model->config().max_position_embeddings;
  if (n_ctx) {
    if (*n_ctx < 1 || (max_pos > 0 && *n_ctx > max_pos))
      throw py::value_error(fmt::format("n_ctx={}: expected 1 to {} (max_position_embeddings of {})", *n_ctx,
                                        max_pos, m->model->dir()));
    m->n_ctx = *n_ctx;
  } else {
    m->n_ctx = std::min<int64_t>(max_pos > 0 ? max_pos : 4096, 4096);
  }
  m->pool = std::make_unique<ThreadPool>(
      threads ? *threads : default_thread_count(matmul_macs_per_token(m->model->config())));
  return m;
}

// A prompt is text (encoded with BOS as the tokenizer says) or a list of token ids used as given.
std::vector<int32_t> prompt_ids(const LoadedModel& m, const py::object& prompt, bool add_special) {
  if (py::isinstance<py::str>(prompt) || py::isinstance<py::bytes>(prompt)) {
    const std::string text = prompt.cast<std::string>();
    return m.require_tokenizer("a text prompt").encode(text, add_special);
  }
  std::vector<int32_t> ids;
  try {
    ids = prompt.cast<std::vector<int32_t>>();
  } catch (const py::cast_error&) {
    throw py::type_error("prompt: expected a str or a list of token ids");
  }
  m.check_ids(ids, "prompt");
  return ids;
}

// Keyword arguments of generate(): what the user left as None takes generation_config.json's value.
struct GenerateArgs {
  int64_t max_tokens = 128;
  std::optional<float> temperature, top_p, repetition_penalty;
  std::optional<int> top_k;
  float min_p = 0.05f;
  float presence_penalty = 0, frequency_penalty = 0;
  int penalty_last_n = 64;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  std::map<int32_t, float> logit_bias;
  bool ignore_eos = false;
  bool add_bos = true;
  std::string spec = "none";
  int spec_k = 4, spec_n = 3;
  bool spec_adaptive = false;
  float spec_p_min = 0.0f;
  ModelRef draft;
  // strategy="auto" or "VARIANT/METHOD" with profile=FILE: the decoding method (and its draft) from the profile.
  std::string strategy, profile, objective = "speed";
  double max_quality_drop = 1.0;
  std::optional<StrategyChoice> choice;
  std::optional<DecodingMethod> method;  // the chosen method; it replaces the spec arguments
};

GenerateOptions resolve_generate_options(const LoadedModel& m, const GenerateArgs& a) {
  if (a.max_tokens < -1)
    throw py::value_error(fmt::format("max_tokens={}: expected -1 (until end-of-sequence) or a count >= 0",
                                      a.max_tokens));
  GenerateOptions g;
  g.max_new_tokens = a.max_tokens;
  g.sampling = sampling_defaults(m.model->generation_config());
  if (a.temperature) {
    g.sampling.temperature = *a.temperature;
    g.sampling.greedy = false;
  }
  if (a.top_k) g.sampling.top_k = *a.top_k;
  if (a.top_p) g.sampling.top_p = *a.top_p;
  if (a.repetition_penalty) g.sampling.repetition_penalty = *a.repetition_penalty;
  g.sampling.min_p = a.min_p;
  g.sampling.presence_penalty = a.presence_penalty;
  g.sampling.frequency_penalty = a.frequency_penalty;
  g.sampling.penalty_last_n = a.penalty_last_n;
  g.sampling.seed = a.seed ? *a.seed : std::random_device{}();
  for (const auto& [id, bias] : a.logit_bias) {
    if (id < 0 || id >= m.model->config().vocab_size)
      throw py::value_error(fmt::format("logit_bias: token {} is outside the vocabulary of {}", id,
                                        m.model->config().vocab_size));
    g.sampling.logit_bias.emplace_back(id, bias);
  }
  try {
    validate_sampling(g.sampling);
  } catch (const Error& e) {
    throw py::value_error(e.what());
  }
  if (!a.stop.empty()) m.require_tokenizer("stop");
  g.stop_strings = a.stop;
  g.eos_token_ids = m.model->eos_token_ids();
  g.ignore_eos = a.ignore_eos;
  if (a.spec_k < 1) throw py::value_error(fmt::format("spec_k={}: expected at least 1", a.spec_k));
  g.speculation.k = a.spec_k;
  g.speculation.k_max = a.spec_adaptive ? 8 : std::max(a.spec_k, 8);
  g.speculation.adaptive = a.spec_adaptive;
  if (a.method) g.speculation = speculation_options(*a.method);
  return g;
}

std::unique_ptr<Proposer> make_proposer(const LoadedModel& m, const GenerateArgs& a, const SamplingParams& sampling) {
  if (a.method) return method_proposer(*a.method, a.draft ? a.draft->model.get() : nullptr, m.n_ctx, *m.pool, sampling);
  if (a.spec == "none") {
    if (a.draft) throw py::value_error("draft: needs spec='draft'");
    return nullptr;
  }
  if (a.spec == "pld") {
    if (a.spec_n < 1) throw py::value_error(fmt::format("spec_n={}: expected at least 1", a.spec_n));
    return make_pld_proposer(1, a.spec_n);
  }
  if (a.spec == "draft") {
    if (!a.draft) throw py::value_error("spec='draft' needs draft=MODEL (a path or a pangu.Model)");
    check_draft_compatible(*m.model, m.tokenizer.get(), *a.draft->model, a.draft->tokenizer.get());
    if (!(a.spec_p_min >= 0.0f && a.spec_p_min < 1.0f))
      throw py::value_error(fmt::format("spec_p_min={}: expected a probability in [0, 1)", a.spec_p_min));
    return make_draft_proposer(*a.draft->model, m.n_ctx, *m.pool, sampling, a.spec_p_min);
  }
  throw py::value_error(fmt::format("spec='{}': expected None, 'pld' or 'draft'", a.spec));
}

struct Completion {
  std::string text;
  std::vector<int32_t> tokens;
  std::string finish_reason;
  int64_t n_prompt = 0;
  double prefill_seconds = 0, decode_seconds = 0;
  SpeculationStats speculation;
  std::optional<StrategyChoice> strategy;
};

Completion to_completion(GenerateResult&& r, std::optional<StrategyChoice> strategy) {
  return {utf8_sanitize(r.text), std::move(r.tokens), stop_reason_name(r.stop_reason), r.n_prompt, r.prefill_seconds,
          r.decode_seconds, r.speculation, std::move(strategy)};
}

// Runs one generation: a fresh session and proposer, the model's lock held throughout.
GenerateResult run_generation(const ModelRef& m, const std::vector<int32_t>& prompt, const GenerateArgs& args,
                              const GenerateOptions& options, const TokenCallback& on_token) {
  std::lock_guard<std::mutex> lock(m->compute);
  if (static_cast<int64_t>(prompt.size()) >= m->n_ctx)
    fail("prompt of {} tokens does not fit the context of {} (Model.load(..., n_ctx=N) for more)", prompt.size(),
         m->n_ctx);
  Session session(*m->model, m->n_ctx, *m->pool);
  std::unique_ptr<Proposer> proposer = make_proposer(*m, args, options.sampling);
  GenerateOptions g = options;
  g.proposer = proposer.get();
  return generate(session, m->tokenizer.get(), prompt, g, on_token);
}

GenerateArgs parse_generate_kwargs(const py::kwargs& kw) {
  GenerateArgs a;
  for (const auto& [key_handle, value] : kw) {
    const std::string key = key_handle.cast<std::string>();
    auto get = [&](auto& field) {
      try {
        field = value.cast<std::remove_reference_t<decltype(field)>>();
      } catch (const py::cast_error&) {
        throw py::type_error(fmt::format("{}: wrong type ({})", key, py::str(py::type::of(value)).cast<std::string>()));
      }
    };
    if (value.is_none() && key != "draft") continue;
    if (key == "max_tokens") get(a.max_tokens);
    else if (key == "temperature") get(a.temperature);
    else if (key == "top_k") get(a.top_k);
    else if (key == "top_p") get(a.top_p);
    else if (key == "min_p") get(a.min_p);
    else if (key == "repetition_penalty") get(a.repetition_penalty);
    else if (key == "presence_penalty") get(a.presence_penalty);
    else if (key == "frequency_penalty") get(a.frequency_penalty);
    else if (key == "penalty_last_n") get(a.penalty_last_n);
    else if (key == "seed") get(a.seed);
    else if (key == "stop") {
      if (py::isinstance<py::str>(value)) a.stop = {value.cast<std::string>()};
      else get(a.stop);
    } else if (key == "logit_bias") get(a.logit_bias);
    else if (key == "ignore_eos") get(a.ignore_eos);
    else if (key == "add_bos") get(a.add_bos);
    else if (key == "spec") get(a.spec);
    else if (key == "spec_k") get(a.spec_k);
    else if (key == "spec_n") get(a.spec_n);
    else if (key == "spec_adaptive") get(a.spec_adaptive);
    else if (key == "spec_p_min") get(a.spec_p_min);
    else if (key == "draft") {
      if (value.is_none()) continue;
      if (py::isinstance<py::str>(value)) a.draft = load_model(value.cast<std::string>(), 1, std::nullopt, /*int8_head=*/true);  // as load_draft_model
      else get(a.draft);
    } else if (key == "strategy") get(a.strategy);
    else if (key == "profile") get(a.profile);
    else if (key == "max_quality_drop") get(a.max_quality_drop);
    else if (key == "objective") get(a.objective);
    else {
      throw py::type_error(fmt::format("generate() got an unexpected keyword argument '{}'", key));
    }
  }
  return a;
}

// Everything generate() and complete() share: the prompt ids, the arguments and the options.
struct PreparedGeneration {
  std::vector<int32_t> prompt;
  GenerateArgs args;
  GenerateOptions options;
};

// Drafts named by strategy profiles, loaded once (as drafts load: load_draft_model) and kept for the process.
// Called with the GIL held, which guards the map; load_model releases it while it loads (a thread that loads
// the same draft meanwhile keeps whichever copy lands first).
ModelRef profile_draft(const std::string& path) {
  static std::map<std::string, ModelRef> drafts;
  if (const auto it = drafts.find(path); it != drafts.end()) return it->second;
  ModelRef loaded = load_model(path, 1, std::nullopt, /*int8_head=*/true);
  return drafts.try_emplace(path, std::move(loaded)).first->second;
}

// strategy=: the model must be one of the profile's variants; the policy (auto) or the name picks its decoding
// method for this request, which replaces the spec arguments (as `pangu run -m MODEL --strategy ...` does).
void apply_strategy(const LoadedModel& m, const std::vector<int32_t>& prompt, GenerateArgs& a) {
  if (a.strategy.empty()) {
    if (!a.profile.empty()) throw py::value_error("profile: needs strategy='auto' or strategy='VARIANT/METHOD'");
    return;
  }
  if (a.profile.empty())
    throw py::value_error(fmt::format("strategy='{}' needs profile=FILE (a profile from pangu adapt profile)", a.strategy));
  if (a.spec != "none" || a.draft)
    throw py::value_error(fmt::format("strategy='{}' chooses the decoding method; drop spec= and draft=", a.strategy));
  if (!(std::isfinite(a.max_quality_drop) && a.max_quality_drop >= 0))
    throw py::value_error(fmt::format("max_quality_drop={}: expected points >= 0", a.max_quality_drop));
  PolicyOptions policy;
  policy.max_quality_drop = a.max_quality_drop;
  try {
    policy.objective = parse_objective(a.objective);
  } catch (const Error& e) {
    throw py::value_error(fmt::format("objective='{}': {}", a.objective, e.what()));
  }
  const StrategyProfile profile = StrategyProfile::load(a.profile);
  policy.only_variant = profile_variant_at(profile, m.model->dir());
  PANGU_CHECK(!policy.only_variant.empty(), "{}: none of the variants of {} (its \"variants\" paths)",
              m.model->dir(), a.profile);
  // The request as text, for its category: token ids are decoded first.
  const std::string text = m.require_tokenizer("strategy").decode(prompt);
  a.choice = choose_strategy(profile, a.strategy, text, policy);
  a.method = parse_decoding_method(a.choice->method);
  PANGU_CHECK(a.method, "{}: method \"{}\" is none of plain, pld:N:K, draft:NAME:K", a.profile, a.choice->method);
  if (a.method->kind == DecodingMethod::Kind::kDraft) {
    a.draft = profile_draft(profile.drafts.at(a.method->draft).path);
    check_draft_compatible(*m.model, m.tokenizer.get(), *a.draft->model, a.draft->tokenizer.get());
  }
}

PreparedGeneration prepare(const ModelRef& m, const py::object& prompt, const py::kwargs& kw) {
  PreparedGeneration p;
  p.args = parse_generate_kwargs(kw);
  p.prompt = prompt_ids(*m, prompt, p.args.add_bos);
  apply_strategy(*m, p.prompt, p.args);
  p.options = resolve_generate_options(*m, p.args);
  return p;
}

Completion complete(const ModelRef& m, const py::object& prompt, const py::kwargs& kw) {
  PreparedGeneration p = prepare(m, prompt, kw);
  py::gil_scoped_release released;
  return to_completion(run_generation(m, p.prompt, p.args, p.options, {}), p.args.choice);
}

std::shared_ptr<TokenStream> stream(const ModelRef& m, const py::object& prompt, const py::kwargs& kw) {
  auto p = std::make_shared<PreparedGeneration>(prepare(m, prompt, kw));
  auto s = std::make_shared<TokenStream>(
      [m, p](const std::function<void(std::string)>& on_piece, const std::atomic<bool>& cancelled) {
        return run_generation(m, p->prompt, p->args, p->options, [&](int32_t, std::string_view text, const float*) {
          if (!text.empty()) on_piece(std::string(text));
          return !cancelled.load();
        });
      });
  s->strategy = p->args.choice;
  return s;
}

py::object generate_text(const ModelRef& m, const py::object& prompt, bool stream_pieces, const py::kwargs& kw) {
  if (stream_pieces) return py::cast(stream(m, prompt, kw));
  return py::cast(complete(m, prompt, kw).text);
}

std::string render_messages(const LoadedModel& m, const py::list& messages, const std::string& template_name,
                            bool& add_bos) {
  ChatTemplate t = detect_chat_template(m.model->config(), m.tokenizer.get());
  if (!template_name.empty()) {
    const auto named = chat_template_from_name(template_name);
    if (!named) throw py::value_error(fmt::format("chat_template='{}': expected pangu, chatml, llama2 or raw", template_name));
    t = *named;
  }
  std::vector<ChatMessage> chat;
  for (const auto& item : messages) {
    if (!py::isinstance<py::dict>(item)) throw py::type_error("messages: expected a list of {'role', 'content'} dicts");
    const auto d = item.cast<py::dict>();
    if (!d.contains("role") || !d.contains("content"))
      throw py::value_error("messages: every message needs 'role' and 'content'");
    const std::string role = d["role"].cast<std::string>();
    if (role != "system" && role != "user" && role != "assistant")
      throw py::value_error(fmt::format("messages: role '{}': expected system, user or assistant", role));
    chat.push_back({role, d["content"].cast<std::string>()});
  }
  if (chat.empty()) throw py::value_error("messages: empty");
  add_bos = !chat_template_has_bos(t);
  return render_chat(t, chat);
}

py::array_t<float> logits(const ModelRef& m, const std::vector<int32_t>& ids) {
  if (ids.empty()) throw py::value_error("ids: empty");
  m->check_ids(ids, "ids");
  const auto n = static_cast<int64_t>(ids.size());
  const int64_t vocab = m->model->config().vocab_size;
  const int64_t max_pos = m->model->config().max_position_embeddings;
  if (max_pos > 0 && n > max_pos)
    throw py::value_error(fmt::format("ids: {} tokens, more than the {} positions of {}", n, max_pos, m->model->dir()));
  // The array is allocated first and filled in place: one copy out of the session's scratch, none after.
  py::array_t<float> out({n, vocab});
  float* dst = out.mutable_data();
  {
    py::gil_scoped_release released;
    std::lock_guard<std::mutex> lock(m->compute);
    Session session(*m->model, n, *m->pool);
    const float* rows = session.forward(ids, /*all_logits=*/true);
    std::memcpy(dst, rows, sizeof(float) * n * vocab);
  }
  return out;
}

py::dict perplexity(const ModelRef& m, const std::string& text, std::optional<int64_t> n_ctx, int64_t max_chunks) {
  const Tokenizer& tokenizer = m->require_tokenizer("perplexity");
  PerplexityOptions options;
  options.n_ctx = n_ctx ? *n_ctx : std::min<int64_t>(512, m->n_ctx);
  options.max_chunks = max_chunks;
  if (options.n_ctx < 2 || options.n_ctx > m->n_ctx)
    throw py::value_error(fmt::format("n_ctx={}: expected 2 to the model's context of {}", options.n_ctx, m->n_ctx));
  PerplexityResult r;
  {
    py::gil_scoped_release released;
    const std::vector<int32_t> tokens = tokenizer.encode(text, /*add_special=*/false);
    std::optional<int32_t> bos = tokenizer.bos_id();
    std::lock_guard<std::mutex> lock(m->compute);
    Session session(*m->model, options.n_ctx, *m->pool);
    r = compute_perplexity(session, tokens, bos, options);
  }
  py::dict d;
  d["ppl"] = r.ppl;
  d["ppl_stderr"] = r.ppl_stderr;
  d["n_ctx"] = r.n_ctx;
  d["n_chunks"] = r.n_chunks;
  d["n_scored"] = r.n_scored;
  d["seconds"] = r.seconds;
  return d;
}

py::dict intent_dict(const IntentResult& r) {
  py::dict scores;
  for (int i = 0; i < kIntentCount; ++i)
    scores[py::str(std::string(intent_name(static_cast<Intent>(i))))] = r.scores[i];
  py::dict d;
  d["category"] = std::string(intent_name(r.label));
  d["confidence"] = r.confidence;
  d["uncertain"] = r.uncertain;
  d["scores"] = scores;
  return d;
}

py::dict classify_lexical(const std::string& text, const std::string& intent_model) {
  IntentResult r;
  {
    py::gil_scoped_release released;
    r = intent_model.empty() ? LexicalIntentModel::builtin().classify(text)
                             : LexicalIntentModel::load(intent_model).classify(text);
  }
  return intent_dict(r);
}

py::dict classify_with_model(const ModelRef& m, const std::string& text, const std::string& recognizer,
                             const std::string& probe) {
  if (recognizer == "lexical") return classify_lexical(text, "");
  if (recognizer != "probe" && recognizer != "prompt")
    throw py::value_error(fmt::format("recognizer='{}': expected lexical, probe or prompt", recognizer));
  const Tokenizer& tokenizer = m->require_tokenizer("intent recognition");
  IntentResult r;
  {
    py::gil_scoped_release released;
    std::lock_guard<std::mutex> lock(m->compute);
    if (recognizer == "probe") {
      const std::string path = probe.empty() ? m->model->dir() + "/intent_probe.json" : probe;
      r = ProbeIntentRecognizer(*m->model, tokenizer, *m->pool, ProbeHead::load(path)).classify(text);
    } else {
      r = PromptIntentRecognizer(*m->model, tokenizer, *m->pool).classify(text);
    }
  }
  return intent_dict(r);
}

py::dict quantize(const std::string& model, const std::string& out, const std::string& scheme, int64_t group_size,
                  bool lm_head, const std::string& exclude, const std::string& float_dtype, bool force,
                  std::optional<int> threads) {
  QuantizeOptions o;
  try {
    o.scheme = parse_quant_scheme(scheme, group_size);
  } catch (const Error& e) {
    throw py::value_error(e.what());
  }
  if (float_dtype != "bf16" && float_dtype != "f16")
    throw py::value_error(fmt::format("float_dtype='{}': expected bf16 or f16", float_dtype));
  o.float_dtype = float_dtype == "bf16" ? DType::kBF16 : DType::kF16;
  o.lm_head = lm_head;
  o.exclude = exclude;
  o.force = force;
  QuantizeReport r;
  {
    py::gil_scoped_release released;
    ThreadPool pool(threads ? *threads : ThreadPool::default_threads());
    r = quantize_model(resolve_model_path(model), out, o, pool);
  }
  py::dict d;
  d["quantized_matrices"] = r.n_quantized;
  d["float_tensors"] = r.n_float;
  d["bytes_in"] = r.bytes_in;
  d["bytes_out"] = r.bytes_out;
  return d;
}

// StrategyChoice::to_json's fields, as a dict.
py::dict strategy_dict(const StrategyChoice& s) {
  py::dict d;
  d["category"] = s.category;
  d["confidence"] = s.confidence;
  d["variant"] = s.variant;
  d["path"] = s.path;
  d["method"] = s.method;
  d["why"] = s.why;
  return d;
}

py::dict speculation_dict(const SpeculationStats& s) {
  py::dict d;
  d["steps"] = s.steps;
  d["plain_steps"] = s.plain_steps;
  d["proposed"] = s.proposed;
  d["accepted"] = s.accepted;
  d["acceptance_rate"] = s.acceptance_rate();
  d["mean_accepted_length"] = s.mean_accepted();
  return d;
}

}  // namespace pangu::python

PYBIND11_MODULE(_pangu, m) {
  using namespace pangu;
  using namespace pangu::python;
  m.doc() = "pangu.cpp: openPangu-Embedded, Llama and Qwen2 models on CPUs";
  m.attr("__version__") = PANGU_VERSION;
  py::register_exception<Error>(m, "Error", PyExc_RuntimeError);

  py::class_<Completion>(m, "Completion", "A finished generation: text, ids, why it stopped, timings")
      .def_readonly("text", &Completion::text)
      .def_readonly("tokens", &Completion::tokens)
      .def_readonly("finish_reason", &Completion::finish_reason)
      .def_readonly("n_prompt", &Completion::n_prompt)
      .def_readonly("prefill_seconds", &Completion::prefill_seconds)
      .def_readonly("decode_seconds", &Completion::decode_seconds)
      .def_property_readonly("speculation", [](const Completion& c) { return speculation_dict(c.speculation); })
      .def_property_readonly("strategy",
                             [](const Completion& c) -> py::object {
                               return c.strategy ? py::object(strategy_dict(*c.strategy)) : py::none();
                             })
      .def("__repr__", [](const Completion& c) {
        return fmt::format("Completion(tokens={}, finish_reason='{}')", c.tokens.size(), c.finish_reason);
      });

  py::class_<TokenStream, std::shared_ptr<TokenStream>>(m, "TokenStream",
                                                        "Iterator over text pieces as they are generated")
      .def("__iter__", [](std::shared_ptr<TokenStream> s) { return s; })
      .def("__next__",
           [](TokenStream& s) {
             std::optional<std::string> piece;
             {
               py::gil_scoped_release released;
               piece = s.next();
             }
             if (!piece) throw py::stop_iteration();
             return *piece;
           })
      .def("cancel", &TokenStream::cancel, "stop at the next token")
      .def_property_readonly("completion", [](const TokenStream& s) -> py::object {
        if (!s.finished()) return py::none();
        GenerateResult copy = s.result();
        return py::cast(to_completion(std::move(copy), s.strategy));
      });

  py::class_<LoadedModel, ModelRef>(m, "Model", "A loaded model with its tokenizer and threads")
      .def_static("load", &load_model, py::arg("path"), py::arg("threads") = py::none(),
                  py::arg("n_ctx") = py::none(), py::arg("int8_head") = false,
                  "Load a model directory (or a name under $PANGU_MODELS, ./models, ../shared/models)")
      .def("generate", &generate_text, py::arg("prompt"), py::kw_only(), py::arg("stream") = false,
           "Continue a prompt (str, or a list of token ids); with stream=True an iterator of text pieces")
      .def("complete", &python::complete, py::arg("prompt"), "Like generate(), returning a Completion")
      .def(
          "chat",
          [](const ModelRef& self, const py::list& messages, const std::string& chat_template, bool stream_pieces,
             py::kwargs kw) {
            bool add_bos = true;
            const std::string text = render_messages(*self, messages, chat_template, add_bos);
            if (!kw.contains("add_bos")) kw["add_bos"] = add_bos;
            return generate_text(self, py::str(text), stream_pieces, kw);
          },
          py::arg("messages"), py::kw_only(), py::arg("chat_template") = "", py::arg("stream") = false,
          "Answer a conversation [{'role': ..., 'content': ...}] in the model's chat template")
      .def(
          "tokenize",
          [](const ModelRef& self, const std::string& text, bool add_special) {
            return self->require_tokenizer("tokenize").encode(text, add_special);
          },
          py::arg("text"), py::arg("add_special") = true)
      .def(
          "detokenize",
          [](const ModelRef& self, const std::vector<int32_t>& ids, bool skip_special) {
            self->check_ids(ids, "ids");
            return py::bytes(self->require_tokenizer("detokenize").decode(ids, skip_special)).attr("decode")(
                "utf-8", "replace");
          },
          py::arg("ids"), py::arg("skip_special") = false)
      .def("logits", &python::logits, py::arg("ids"), "Logits of every position of ids: float32 [len(ids), vocab]")
      .def("perplexity", &python::perplexity, py::arg("text"), py::arg("n_ctx") = py::none(), py::arg("max_chunks") = 0,
           "llama.cpp-style perplexity of a text")
      .def("classify_intent", &classify_with_model, py::arg("text"), py::arg("recognizer") = "probe",
           py::arg("probe") = "", "Recognize a request's category with this model (probe or prompt)")
      .def_property_readonly("path", [](const LoadedModel& self) { return self.model->dir(); })
      .def_property_readonly("n_ctx", [](const LoadedModel& self) { return self.n_ctx; })
      .def_property_readonly("vocab_size", [](const LoadedModel& self) { return self.model->config().vocab_size; })
      .def_property_readonly("architecture",
                             [](const LoadedModel& self) { return self.model->config().architecture; })
      .def_property_readonly("eos_token_ids", [](const LoadedModel& self) { return self.model->eos_token_ids(); })
      .def("__repr__", [](const LoadedModel& self) {
        return fmt::format("pangu.Model('{}', architecture='{}', n_ctx={})", self.model->dir(),
                           self.model->config().architecture, self.n_ctx);
      });

  m.def("classify_intent", &classify_lexical, py::arg("text"), py::arg("intent_model") = "",
        "Recognize a request's category with the lexical recognizer (the built-in model unless one is named)");
  m.def("quantize", &python::quantize, py::arg("model"), py::arg("out"), py::arg("scheme") = "w8a16",
        py::arg("group_size") = 0, py::arg("lm_head") = false, py::arg("exclude") = "",
        py::arg("float_dtype") = "bf16", py::arg("force") = false, py::arg("threads") = py::none(),
        "Quantize a model directory into out (the MindIE layout, as `pangu quantize`)");
}
