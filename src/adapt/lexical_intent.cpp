#include "adapt/lexical_intent.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "adapt/intent_features.h"
#include "core/splitmix.h"
#include "core/log.h"
#include "io/json_file.h"
#include "pangu/error.h"

extern "C" const unsigned char pangu_builtin_intent_model_start[];
extern "C" const unsigned char pangu_builtin_intent_model_end[];

namespace pangu {

namespace {

constexpr char kMagic[8] = {'P', 'G', 'I', 'N', 'T', 'E', 'N', 'T'};
constexpr uint32_t kVersion = 1;

uint32_t checksum(std::string_view bytes) {
  uint32_t h = 2166136261u;
  for (unsigned char c : bytes) h = (h ^ c) * 16777619u;
  return h;
}

class Reader {
 public:
  Reader(std::string_view bytes, const std::string& origin) : bytes_(bytes), origin_(origin) {}
  template <typename T>
  T get(const char* field) {
    if (bytes_.size() - at_ < sizeof(T))
      fail("{}: truncated at byte {} (reading {}; the file has {} bytes)", origin_, at_, field, bytes_.size());
    T v;
    std::memcpy(&v, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  size_t at() const { return at_; }
  size_t left() const { return bytes_.size() - at_; }
  const char* here() const { return bytes_.data() + at_; }
  void skip(size_t n) { at_ += n; }

 private:
  std::string_view bytes_;
  const std::string& origin_;
  size_t at_ = 0;
};

template <typename T>
void put(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

// One pass of features for every sample, kept for all epochs.
struct FeatureTable {
  std::vector<uint32_t> offsets{0};
  std::vector<uint32_t> index;
  std::vector<float> value;
};

FeatureTable featurize(const std::vector<IntentSample>& samples, int bits) {
  FeatureTable t;
  IntentFeatures f;
  for (const auto& s : samples) {
    extract_intent_features(s.text, bits, f);
    t.index.insert(t.index.end(), f.index.begin(), f.index.end());
    t.value.insert(t.value.end(), f.value.begin(), f.value.end());
    t.offsets.push_back(static_cast<uint32_t>(t.index.size()));
  }
  return t;
}

}  // namespace

std::vector<IntentSample> load_intent_samples(const std::string& path) {
  std::vector<IntentSample> out;
  const std::string text = read_text_file(path, "intent corpus");
  for_each_jsonl_record(text, path, [&](Json& r, int64_t line) {
    const std::string where = fmt::format("{}:{}", path, line);
    if (!r.is_object()) fail("{}: expected an object, found {}", where, r.type_name());
    IntentSample s;
    s.text = json_required<std::string>(r, "text", where);
    const std::string label = json_required<std::string>(r, "label", where);
    const auto intent = intent_from_name(label);
    if (!intent)
      fail("{}: \"label\": \"{}\" is not a category (chat, translation, summarization, qa, rag, math, code, exam)",
           where, label);
    s.label = *intent;
    s.lang = json_optional<std::string>(r, "lang", "", where);
    s.source = json_optional<std::string>(r, "source", "", where);
    out.push_back(std::move(s));
  });
  return out;
}

LexicalIntentModel LexicalIntentModel::from_bytes(std::string_view bytes, const std::string& origin) {
  Reader r(bytes, origin);
  char magic[8];
  for (char& c : magic) c = r.get<char>("the magic");
  if (std::memcmp(magic, kMagic, 8) != 0)
    fail("{}: not an intent model (expected the magic \"PGINTENT\" at byte 0)", origin);
  const auto version = r.get<uint32_t>("version");
  if (version != kVersion) fail("{}: version {}, expected {}", origin, version, kVersion);
  const auto categories = r.get<uint32_t>("categories");
  if (categories != kIntentCount) fail("{}: {} categories, expected {}", origin, categories, kIntentCount);
  LexicalIntentModel m;
  const auto bits = r.get<uint32_t>("bucket_bits");
  if (bits < 8 || bits > 22) fail("{}: bucket_bits {}, expected 8 to 22", origin, bits);
  m.bucket_bits = static_cast<int>(bits);
  m.threshold = r.get<float>("threshold");
  if (!(m.threshold >= 0.0f && m.threshold <= 1.0f)) fail("{}: threshold {}, expected a value in [0, 1]", origin, m.threshold);
  for (float& v : m.bias) v = r.get<float>("bias");
  for (float& v : m.scale) v = r.get<float>("scale");
  for (int i = 0; i < kIntentCount; ++i)
    if (!std::isfinite(m.bias[i]) || !std::isfinite(m.scale[i]) || m.scale[i] < 0.0f)
      fail("{}: bias or scale of category {} is {} / {}, expected finite values (scale >= 0)", origin,
           intent_name(static_cast<Intent>(i)), m.bias[i], m.scale[i]);
  const size_t n_weights = (size_t{1} << bits) * kIntentCount;
  if (r.left() != n_weights + sizeof(uint32_t))
    fail("{}: {} bytes after the header, expected {} ({} buckets x {} categories + checksum)", origin, r.left(),
         n_weights + sizeof(uint32_t), size_t{1} << bits, kIntentCount);
  m.weights.assign(reinterpret_cast<const int8_t*>(r.here()), reinterpret_cast<const int8_t*>(r.here()) + n_weights);
  r.skip(n_weights);
  const size_t body = r.at();
  const auto stored = r.get<uint32_t>("checksum");
  if (stored != checksum(bytes.substr(0, body)))
    fail("{}: checksum mismatch (the file is damaged or was edited)", origin);
  return m;
}

LexicalIntentModel LexicalIntentModel::load(const std::string& path) {
  return from_bytes(read_text_file(path, "intent model"), path);
}

const LexicalIntentModel& LexicalIntentModel::builtin() {
  static const LexicalIntentModel model = from_bytes(
      std::string_view(reinterpret_cast<const char*>(pangu_builtin_intent_model_start),
                       static_cast<size_t>(pangu_builtin_intent_model_end - pangu_builtin_intent_model_start)),
      "the built-in intent model");
  return model;
}

std::string LexicalIntentModel::to_bytes() const {
  std::string out(kMagic, 8);
  put(out, kVersion);
  put(out, static_cast<uint32_t>(kIntentCount));
  put(out, static_cast<uint32_t>(bucket_bits));
  put(out, threshold);
  for (float v : bias) put(out, v);
  for (float v : scale) put(out, v);
  out.append(reinterpret_cast<const char*>(weights.data()), weights.size());
  put(out, checksum(out));
  return out;
}

void LexicalIntentModel::save(const std::string& path) const { write_text_file_atomic(path, to_bytes()); }

IntentResult LexicalIntentModel::classify(std::string_view text) const {
  if (is_blank_request(text)) return blank_request_result();
  thread_local IntentFeatures f;
  extract_intent_features(text, bucket_bits, f);
  std::array<float, kIntentCount> acc{};
  for (size_t i = 0; i < f.index.size(); ++i) {
    const int8_t* w = weights.data() + static_cast<size_t>(f.index[i]) * kIntentCount;
    for (int c = 0; c < kIntentCount; ++c) acc[c] += f.value[i] * static_cast<float>(w[c]);
  }
  std::array<float, kIntentCount> logits;
  for (int c = 0; c < kIntentCount; ++c) logits[c] = bias[c] + scale[c] * acc[c];
  return intent_result_from_logits(logits, threshold);
}

LexicalIntentModel train_lexical_intent(const std::vector<IntentSample>& train, const std::vector<IntentSample>& dev,
                                        const LexicalTrainOptions& o, LexicalTrainReport* report) {
  PANGU_CHECK(!train.empty(), "train-intent: no training samples");
  PANGU_CHECK(o.bucket_bits >= 8 && o.bucket_bits <= 22, "--bucket-bits {}: expected 8 to 22", o.bucket_bits);
  const size_t buckets = size_t{1} << o.bucket_bits;
  const FeatureTable table = featurize(train, o.bucket_bits);
  // Categories weigh alike whatever their share of the corpus.
  std::array<double, kIntentCount> count{};
  for (const auto& s : train) count[static_cast<int>(s.label)] += 1;
  std::array<float, kIntentCount> class_weight{};
  for (int c = 0; c < kIntentCount; ++c)
    class_weight[c] = count[c] > 0 ? static_cast<float>(train.size() / (kIntentCount * count[c])) : 0.0f;

  std::vector<float> w(buckets * kIntentCount, 0.0f);
  std::array<float, kIntentCount> b{};
  std::vector<uint32_t> order(train.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  SplitMix64 rng{o.seed};  // std::shuffle's use of the engine is the library's choice
  size_t step = 0;
  const size_t total_steps = static_cast<size_t>(o.epochs) * train.size();
  Progress progress("train-intent", total_steps);
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.next() % i]);
    for (uint32_t s : order) {
      const float lr = static_cast<float>(o.learning_rate * (1.0 - 0.9 * static_cast<double>(step++) / total_steps));
      const uint32_t f0 = table.offsets[s], f1 = table.offsets[s + 1];
      std::array<float, kIntentCount> z = b;
      for (uint32_t k = f0; k < f1; ++k) {
        const float* row = w.data() + static_cast<size_t>(table.index[k]) * kIntentCount;
        for (int c = 0; c < kIntentCount; ++c) z[c] += table.value[k] * row[c];
      }
      const float top = *std::max_element(z.begin(), z.end());
      float sum = 0.0f;
      for (float& v : z) sum += (v = std::exp(v - top));
      const int y = static_cast<int>(train[s].label);
      std::array<float, kIntentCount> g;
      for (int c = 0; c < kIntentCount; ++c) g[c] = class_weight[y] * (z[c] / sum - (c == y ? 1.0f : 0.0f));
      for (int c = 0; c < kIntentCount; ++c) b[c] -= lr * 0.1f * g[c];
      for (uint32_t k = f0; k < f1; ++k) {
        float* row = w.data() + static_cast<size_t>(table.index[k]) * kIntentCount;
        const float x = table.value[k];
        for (int c = 0; c < kIntentCount; ++c) row[c] -= lr * (g[c] * x + static_cast<float>(o.l2) * row[c]);
      }
      progress.advance();
    }
  }
  progress.finish();

  LexicalIntentModel m;
  m.bucket_bits = o.bucket_bits;
  m.bias = b;
  m.weights.resize(w.size());
  for (int c = 0; c < kIntentCount; ++c) {
    float amax = 0.0f;
    for (size_t r = 0; r < buckets; ++r) amax = std::max(amax, std::fabs(w[r * kIntentCount + c]));
    m.scale[c] = amax / 127.0f;
    const float inv = amax > 0 ? 127.0f / amax : 0.0f;
    for (size_t r = 0; r < buckets; ++r)
      m.weights[r * kIntentCount + c] = static_cast<int8_t>(std::lround(std::clamp(w[r * kIntentCount + c] * inv, -127.0f, 127.0f)));
  }
  // The threshold from the dev split, with the stored (int8) weights.
  m.threshold = 0.0f;
  std::vector<std::pair<float, bool>> dev_results;
  size_t dev_right = 0;
  for (const auto& s : dev) {
    const IntentResult r = m.classify(s.text);
    dev_results.push_back({r.confidence, r.label == s.label});
    dev_right += r.label == s.label;
  }
  std::sort(dev_results.begin(), dev_results.end());
  // Walk up from the least confident: the first point from which the rest is right often enough.
  size_t right_above = dev_right;
  for (size_t i = 0; i < dev_results.size(); ++i) {
    const size_t above = dev_results.size() - i;
    if (static_cast<double>(right_above) / above >= o.certain_precision) {
      m.threshold = std::min(dev_results[i].first, 0.9f);
      break;
    }
    right_above -= dev_results[i].second;
  }
  if (report) {
    size_t right = 0;
    for (const auto& s : train) right += m.classify(s.text).label == s.label;
    report->train_accuracy = static_cast<double>(right) / train.size();
    report->dev_accuracy = dev.empty() ? 0.0 : static_cast<double>(dev_right) / dev.size();
    report->threshold = m.threshold;
  }
  return m;
}

}  // namespace pangu
