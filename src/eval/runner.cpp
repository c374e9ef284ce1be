#include "eval/runner.h"

#include <algorithm>
#include <chrono>

#include "eval/answers.h"
#include "eval/log_prob.h"
#include "pangu/error.h"

namespace pangu {

Evaluator::Evaluator(const Model& model, const Tokenizer& tokenizer, ThreadPool& pool, int64_t n_ctx,
                     GenerateOptions generation, std::function<std::unique_ptr<Proposer>()> make_proposer)
    : model_(model),
      tokenizer_(tokenizer),
      session_(std::make_unique<Session>(model, n_ctx, pool)),
      generation_(std::move(generation)),
      make_proposer_(std::move(make_proposer)) {}

Evaluator::~Evaluator() = default;

std::string Evaluator::render(const FewShotPrompt& prompt, const EvalSettings& settings) const {
  return settings.chat ? render_chat_prompt(prompt, settings.chat_template) : render_plain(prompt);
}

Evaluator::FittedPrompt Evaluator::fit_prompt(const EvalTask& task, const EvalSample& sample,
                                              const EvalSettings& settings, int64_t budget) const {
  const bool add_special = !(settings.chat && chat_template_has_bos(settings.chat_template));
  FittedPrompt fitted;
  fitted.add_special = add_special;
  // Fewer shots first, as OpenCompass and lm-evaluation-harness do; the question itself is cut (from the
  // left, keeping BOS) only when even the zero-shot prompt does not fit.
  for (int shots = settings.shots; shots >= 0; --shots) {
    fitted.shots = shots;
    fitted.text = render(task.prompt(sample, shots), settings);
    fitted.tokens = tokenizer_.encode(fitted.text, add_special);
    if (static_cast<int64_t>(fitted.tokens.size()) <= budget) return fitted;
  }
  const bool has_bos = tokenizer_.bos_id() && !fitted.tokens.empty() && fitted.tokens[0] == *tokenizer_.bos_id();
  std::vector<int32_t> tail(fitted.tokens.end() - (budget - (has_bos ? 1 : 0)), fitted.tokens.end());
  if (has_bos) tail.insert(tail.begin(), fitted.tokens[0]);
  fitted.tokens = std::move(tail);
  fitted.truncated = true;
  return fitted;
}

int64_t Evaluator::reuse_prefix(const std::vector<int32_t>& tokens) {
  PANGU_CHECK(!tokens.empty(), "eval: a prompt encoded to no tokens");
  size_t keep = 0;
  while (keep < held_.size() && keep < tokens.size() && held_[keep] == tokens[keep]) ++keep;
  keep = std::min<size_t>({keep, tokens.size() - 1, static_cast<size_t>(session_->n_past())});
  session_->truncate(static_cast<int64_t>(keep));
  held_.clear();
  return static_cast<int64_t>(keep);
}

Json Evaluator::evaluate(const EvalTask& task, const EvalSample& sample, const EvalSettings& settings) {
  const int64_t n_ctx = session_->n_ctx();
  const int64_t reserve = task.kind() == TaskKind::kGenerate ? settings.max_new_tokens : 8;
  PANGU_CHECK(reserve < n_ctx, "{}: {} new tokens do not fit a context of {}", task.name(), reserve, n_ctx);
  const FittedPrompt prompt = fit_prompt(task, sample, settings, n_ctx - reserve);

  Json record = {{"id", sample.id}};
  if (!sample.subject.empty()) record["subject"] = sample.subject;
  record["question"] = sample.question;
  record["prompt"] = prompt.text;
  record["shots"] = prompt.shots;
  if (prompt.truncated) record["truncated"] = true;
  record["prompt_tokens"] = prompt.tokens.size();
  const auto start = std::chrono::steady_clock::now();
  if (task.kind() == TaskKind::kChoice)
    score_choices(task, sample, prompt, record);
  else
    generate_answer(task, sample, prompt, settings, record);
  if (!record.contains("seconds"))
    record["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  record["reference"] = sample.reference;
  return record;
}

void Evaluator::score_choices(const EvalTask& task, const EvalSample& sample, const FittedPrompt& prompt,
                              Json& record) {
  const int64_t vocab = model_.config().vocab_size;
  // Each choice's tokens as they follow this prompt: the tail of encode(prompt + lead + letter) when the
  // prompt's own tokens are its head (a tokenizer may merge across the boundary otherwise).
  const bool add_special = prompt.add_special;
  const std::vector<int32_t> base = tokenizer_.encode(prompt.text, add_special);
  std::vector<std::vector<int32_t>> continuations;
  for (const auto& letter : task.choices()) {
    const std::string piece = task.choice_lead() + letter;
    std::vector<int32_t> full = tokenizer_.encode(prompt.text + piece, add_special);
    if (full.size() > base.size() && std::equal(base.begin(), base.end(), full.begin()))
      continuations.emplace_back(full.begin() + static_cast<std::ptrdiff_t>(base.size()), full.end());
    else
      continuations.push_back(tokenizer_.encode(piece, false));
    PANGU_CHECK(!continuations.back().empty(), "{}: choice \"{}\" encodes to no tokens", task.name(), piece);
  }

  const int64_t kept = reuse_prefix(prompt.tokens);
  const float* logits = session_->forward(prompt.tokens.data() + kept,
                                          static_cast<int64_t>(prompt.tokens.size()) - kept, false);
  held_ = prompt.tokens;
  record["reused_tokens"] = kept;
  std::vector<int32_t> first_tokens;
  for (const auto& c : continuations) first_tokens.push_back(c[0]);
  ChoiceScore score = pangu::score_choices(logits, vocab, first_tokens);
  // A choice of several tokens adds the log-probabilities of the rest, read from one more forward.
  for (size_t c = 0; c < continuations.size(); ++c) {
    const auto& tokens = continuations[c];
    if (tokens.size() < 2) continue;
    const float* rows = session_->forward(tokens.data(), static_cast<int64_t>(tokens.size()) - 1, true);
    for (size_t i = 1; i < tokens.size(); ++i)
      score.logprobs[c] += token_logprob(rows + static_cast<int64_t>(i - 1) * vocab, vocab, tokens[i]);
    session_->truncate(static_cast<int64_t>(prompt.tokens.size()));
  }
  score.best = static_cast<int>(std::max_element(score.logprobs.begin(), score.logprobs.end()) - score.logprobs.begin());

  Json logprobs = Json::object();
  const auto letters = task.choices();
  for (size_t c = 0; c < letters.size(); ++c) logprobs[letters[c]] = score.logprobs[c];
  const std::string chosen = letters[static_cast<size_t>(score.best)];
  record["output"] = chosen;
  record["extracted"] = chosen;
  record["choice_logprobs"] = logprobs;
  record["correct"] = chosen == sample.reference;
  record["output_tokens"] = 0;
}

void Evaluator::generate_answer(const EvalTask& task, const EvalSample& sample, const FittedPrompt& prompt,
                                const EvalSettings& settings, Json& record) {
  GenerateOptions options = generation_;
  options.sampling.greedy = true;  // pass@1 and exact match are reported for greedy decoding
  options.max_new_tokens = settings.max_new_tokens;
  options.stop_strings = task.stop_strings();
  std::unique_ptr<Proposer> proposer = make_proposer_ ? make_proposer_() : nullptr;
  options.proposer = proposer.get();

  const int64_t kept = reuse_prefix(prompt.tokens);
  record["reused_tokens"] = kept;
  const std::vector<int32_t> history(prompt.tokens.begin(), prompt.tokens.begin() + kept);
  const std::vector<int32_t> rest(prompt.tokens.begin() + kept, prompt.tokens.end());
  const auto start = std::chrono::steady_clock::now();
  const GenerateResult result = generate(*session_, &tokenizer_, rest, options, {}, history);
  record["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  held_ = prompt.tokens;

  record["output"] = result.text;
  record["output_tokens"] = result.tokens.size();
  record["stop"] = stop_reason_name(result.stop_reason);
  if (proposer)
    record["speculation"] = {{"proposed", result.speculation.proposed}, {"accepted", result.speculation.accepted}};
  task.score_output(sample, result.text, settings.sandbox, record);
}

}  // namespace pangu
