#include "adapt/model_intent.h"

#include <algorithm>
#include <cmath>

#include "core/thread_pool.h"
#include "eval/log_prob.h"
#include "io/json_file.h"
#include "pangu/chat.h"
#include "pangu/error.h"
#include "pangu/model.h"
#include "pangu/tokenizer.h"

namespace pangu {

namespace {

// The request's head, encoded: at most kModelIntentTokens tokens after BOS.
std::vector<int32_t> request_tokens(const Tokenizer& tokenizer, std::string_view text) {
  std::vector<int32_t> ids = tokenizer.encode(text, true);
  if (static_cast<int64_t>(ids.size()) > kModelIntentTokens + 1) ids.resize(static_cast<size_t>(kModelIntentTokens + 1));
  return ids;
}

bool mostly_cjk(std::string_view text) {
  size_t cjk = 0, ascii_letters = 0;
  for (size_t i = 0; i + 2 < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0xE4 && c <= 0xE9) ++cjk;  // lead byte of U+4E00..U+9FFF
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ++ascii_letters;
  }
  return cjk * 4 > ascii_letters;
}

}  // namespace

std::vector<float> pooled_final_norm(const Model& model, const Tokenizer& tokenizer, ThreadPool& pool,
                                     std::string_view text) {
  const int64_t hidden = model.config().hidden_size;
  std::vector<float> sum(static_cast<size_t>(hidden), 0.0f);
  const std::vector<int32_t> ids = request_tokens(tokenizer, text);
  if (ids.empty()) return sum;
  Session session(model, static_cast<int64_t>(ids.size()), pool);
  int64_t rows = 0;
  session.set_hook([&](std::string_view name, const float* data, int64_t n, int64_t width) {
    if (name != "final_norm") return;
    for (int64_t t = 0; t < n; ++t)
      for (int64_t i = 0; i < width; ++i) sum[static_cast<size_t>(i)] += data[t * width + i];
    rows += n;
  });
  for (int32_t id : ids)
    PANGU_CHECK(id >= 0 && id < model.config().vocab_size, "{}: token {} is outside the vocabulary", model.dir(), id);
  session.forward(ids, /*all_logits=*/true);
  for (float& v : sum) v /= static_cast<float>(std::max<int64_t>(rows, 1));
  return sum;
}

std::string ProbeHead::to_json() const {
  Json j = {{"format", "pangu-intent-probe"}, {"version", 1},     {"model", model},
            {"hidden", hidden},               {"threshold", threshold}, {"mean", mean},
            {"inv_std", inv_std},             {"weights", weights},     {"bias", bias}};
  Json labels = Json::array();
  for (int c = 0; c < kIntentCount; ++c) labels.push_back(intent_name(static_cast<Intent>(c)));
  j["categories"] = labels;
  return j.dump() + "\n";
}

ProbeHead ProbeHead::from_json(const std::string& text, const std::string& origin) {
  const Json j = parse_json_text(text, origin);
  if (!j.is_object()) fail("{}: expected a JSON object, found {}", origin, j.type_name());
  if (json_optional<std::string>(j, "format", "", origin) != "pangu-intent-probe")
    fail("{}: not an intent probe (\"format\" must be \"pangu-intent-probe\")", origin);
  const auto version = json_required<int64_t>(j, "version", origin);
  if (version != 1) fail("{}: version {}, expected 1", origin, version);
  ProbeHead h;
  h.model = json_optional<std::string>(j, "model", "", origin);
  h.hidden = json_required<int64_t>(j, "hidden", origin);
  if (h.hidden < 1 || h.hidden > 65536) fail("{}: \"hidden\" is {}, expected 1 to 65536", origin, h.hidden);
  h.threshold = json_required<float>(j, "threshold", origin);
  h.mean = json_required<std::vector<float>>(j, "mean", origin);
  h.inv_std = json_required<std::vector<float>>(j, "inv_std", origin);
  h.weights = json_required<std::vector<float>>(j, "weights", origin);
  const auto bias = json_required<std::vector<float>>(j, "bias", origin);
  const auto categories = json_required<std::vector<std::string>>(j, "categories", origin);
  for (int c = 0; c < kIntentCount; ++c)
    if (static_cast<int>(categories.size()) != kIntentCount || categories[c] != intent_name(static_cast<Intent>(c)))
      fail("{}: \"categories\" must list the {} categories in the order chat, translation, summarization, qa, rag, "
           "math, code, exam",
           origin, kIntentCount);
  const size_t hidden = static_cast<size_t>(h.hidden);
  if (h.mean.size() != hidden || h.inv_std.size() != hidden || h.weights.size() != hidden * kIntentCount ||
      bias.size() != kIntentCount)
    fail("{}: array sizes mean {}, inv_std {}, weights {}, bias {}; expected {}, {}, {} and {}", origin, h.mean.size(),
         h.inv_std.size(), h.weights.size(), bias.size(), hidden, hidden, hidden * kIntentCount, kIntentCount);
  std::copy(bias.begin(), bias.end(), h.bias.begin());
  return h;
}

ProbeHead ProbeHead::load(const std::string& path) { return from_json(read_text_file(path, "intent probe"), path); }

std::array<float, kIntentCount> ProbeHead::logits(const std::vector<float>& pooled) const {
  std::array<float, kIntentCount> z = bias;
  for (int c = 0; c < kIntentCount; ++c) {
    const float* w = weights.data() + static_cast<size_t>(c) * hidden;
    for (int64_t i = 0; i < hidden; ++i) z[c] += w[i] * (pooled[i] - mean[i]) * inv_std[i];
  }
  return z;
}

ProbeHead train_probe(const std::vector<std::vector<float>>& pooled, const std::vector<Intent>& labels,
                      const ProbeTrainOptions& o) {
  PANGU_CHECK(!pooled.empty() && pooled.size() == labels.size(), "train_probe: {} states for {} labels", pooled.size(),
              labels.size());
  ProbeHead h;
  h.hidden = static_cast<int64_t>(pooled[0].size());
  const size_t d = pooled[0].size(), n = pooled.size();
  h.mean.assign(d, 0.0f);
  h.inv_std.assign(d, 0.0f);
  for (const auto& x : pooled)
    for (size_t i = 0; i < d; ++i) h.mean[i] += x[i] / static_cast<float>(n);
  for (size_t i = 0; i < d; ++i) {
    double var = 0;
    for (const auto& x : pooled) var += (x[i] - h.mean[i]) * (x[i] - h.mean[i]);
    const double sd = std::sqrt(var / n);
    h.inv_std[i] = sd > 1e-8 ? static_cast<float>(1.0 / sd) : 0.0f;
  }
  std::array<double, kIntentCount> count{};
  for (Intent l : labels) count[static_cast<int>(l)] += 1;
  h.weights.assign(d * kIntentCount, 0.0f);
  std::vector<double> grad(d * kIntentCount);
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    std::fill(grad.begin(), grad.end(), 0.0);
    std::array<double, kIntentCount> grad_b{};
    for (size_t s = 0; s < n; ++s) {
      const auto z = h.logits(pooled[s]);
      const IntentResult r = intent_result_from_logits(z, 0.0f);
      const int y = static_cast<int>(labels[s]);
      const double weight = static_cast<double>(n) / (kIntentCount * count[y]);
      for (int c = 0; c < kIntentCount; ++c) {
        const double g = weight * (r.scores[c] - (c == y ? 1.0 : 0.0)) / static_cast<double>(n);
        grad_b[c] += g;
        for (size_t i = 0; i < d; ++i) grad[c * d + i] += g * (pooled[s][i] - h.mean[i]) * h.inv_std[i];
      }
    }
    for (int c = 0; c < kIntentCount; ++c) h.bias[c] -= static_cast<float>(o.learning_rate * grad_b[c]);
    for (size_t k = 0; k < grad.size(); ++k)
      h.weights[k] -= static_cast<float>(o.learning_rate * (grad[k] + o.l2 * h.weights[k]));
  }
  return h;
}

ProbeIntentRecognizer::ProbeIntentRecognizer(const Model& model, const Tokenizer& tokenizer, ThreadPool& pool,
                                             ProbeHead head)
    : model_(model), tokenizer_(tokenizer), pool_(pool), head_(std::move(head)) {
  PANGU_CHECK(head_.hidden == model.config().hidden_size,
              "intent probe for hidden size {} (trained on {}), but {} has hidden size {}", head_.hidden,
              head_.model.empty() ? "?" : head_.model, model.dir(), model.config().hidden_size);
}

IntentResult ProbeIntentRecognizer::classify(std::string_view text) const {
  if (is_blank_request(text)) return blank_request_result();
  return intent_result_from_logits(head_.logits(pooled_final_norm(model_, tokenizer_, pool_, text)), head_.threshold);
}

PromptIntentRecognizer::PromptIntentRecognizer(const Model& model, const Tokenizer& tokenizer, ThreadPool& pool)
    : model_(model),
      tokenizer_(tokenizer),
      pool_(pool),
      chat_template_(static_cast<int>(detect_chat_template(model.config(), &tokenizer))) {}

std::string PromptIntentRecognizer::question(std::string_view request) const {
  // The request's head only, as the other recognizers read it.
  std::string head(request.substr(0, 600));
  while (!head.empty() && (static_cast<unsigned char>(head.back()) & 0xC0) == 0x80) head.pop_back();
  if (!head.empty() && (static_cast<unsigned char>(head.back()) & 0x80)) head.pop_back();
  const std::string instruction =
      mostly_cjk(request)
          ? "请判断下面的请求属于哪一类，只回答类别名（chat, translation, summarization, qa, rag, math, code, exam 之一）。\n请求：" +
                head + "\n类别："
          : "Which kind of request is this? Answer with one category name: chat, translation, summarization, qa, rag, "
            "math, code or exam.\nRequest: " +
                head + "\nCategory:";
  const auto t = static_cast<ChatTemplate>(chat_template_);
  if (t == ChatTemplate::kRaw) return instruction;
  return render_chat(t, {{"user", instruction}});
}

std::array<float, kIntentCount> PromptIntentRecognizer::name_log_likelihoods(std::string_view request) const {
  const auto t = static_cast<ChatTemplate>(chat_template_);
  const std::string q = question(request);
  const std::vector<int32_t> prompt = tokenizer_.encode(q, !chat_template_has_bos(t));
  std::array<float, kIntentCount> out{};
  const int64_t vocab = model_.config().vocab_size;
  std::vector<std::vector<int32_t>> names(kIntentCount);
  size_t longest = 0;
  for (int c = 0; c < kIntentCount; ++c) {
    // " math" after "Category:" (a space, as a model would write it), "math" after "类别：".
    std::string name(t == ChatTemplate::kRaw && q.back() == ':' ? " " : "");
    name.append(intent_name(static_cast<Intent>(c)));
    // The name's tokens as they follow the question (lm-eval's split of context + continuation); a tokenizer
    // that merges across the boundary gets the name encoded on its own.
    const std::vector<int32_t> full = tokenizer_.encode(q + name, !chat_template_has_bos(t));
    std::vector<int32_t> ids;
    if (full.size() > prompt.size() && std::equal(prompt.begin(), prompt.end(), full.begin()))
      ids.assign(full.begin() + static_cast<std::ptrdiff_t>(prompt.size()), full.end());
    else
      ids = tokenizer_.encode(name, false);
    PANGU_CHECK(!ids.empty(), "{}: the category name \"{}\" encodes to no tokens", tokenizer_.origin(), name);
    names[c] = ids;
    longest = std::max(longest, ids.size());
  }
  Session session(model_, static_cast<int64_t>(prompt.size() + longest), pool_);
  const float* last = session.forward(prompt);
  const std::vector<float> after_prompt(last, last + vocab);
  for (int c = 0; c < kIntentCount; ++c) {
    session.truncate(static_cast<int64_t>(prompt.size()));
    double total = token_logprob(after_prompt.data(), vocab, names[c][0]);
    if (names[c].size() > 1) {
      const float* rows = session.forward(names[c].data(), static_cast<int64_t>(names[c].size()) - 1, true);
      for (size_t k = 1; k < names[c].size(); ++k) total += token_logprob(rows + (k - 1) * vocab, vocab, names[c][k]);
    }
    out[c] = static_cast<float>(total);
  }
  return out;
}

IntentResult PromptIntentRecognizer::classify(std::string_view text) const {
  if (is_blank_request(text)) return blank_request_result();
  // The log-likelihoods as logits: the scores are the model's preference among the eight names.
  return intent_result_from_logits(name_log_likelihoods(text), 0.0f);
}

}  // namespace pangu
