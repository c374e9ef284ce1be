#include "train/distill.h"

#include <chrono>

#include "core/thread_pool.h"
#include "io/text_corpus.h"
#include "pangu/error.h"
#include "pangu/model.h"
#include "pangu/tokenizer.h"

namespace pangu {

std::vector<std::vector<int32_t>> load_token_sequences(const std::vector<std::string>& paths,
                                                       const Tokenizer& tokenizer, int64_t seq_len,
                                                       int64_t max_sequences) {
  PANGU_CHECK(seq_len >= 2, "--seq-len {}: expected at least 2", seq_len);
  std::vector<int32_t> stream;
  std::vector<std::vector<int32_t>> sequences;
  for (const auto& path : paths) {
    for (const auto& doc : read_corpus_documents(path)) {
      const auto ids = tokenizer.encode(doc, true);
      stream.insert(stream.end(), ids.begin(), ids.end());
      while (static_cast<int64_t>(stream.size()) >= seq_len) {
        sequences.emplace_back(stream.begin(), stream.begin() + seq_len);
        stream.erase(stream.begin(), stream.begin() + seq_len);
        if (max_sequences > 0 && static_cast<int64_t>(sequences.size()) >= max_sequences) return sequences;
      }
    }
  }
  if (static_cast<int64_t>(stream.size()) >= 2) sequences.push_back(stream);  // the short tail
  PANGU_CHECK(!sequences.empty(), "no training text in {} (need at least 2 tokens)", paths.empty() ? "" : paths[0]);
  return sequences;
}

Params<float> trainable_gradients(const ModelConfig& config, bool mlp_only) {
  Params<float> g = zero_params<float>(config);
  if (mlp_only)
    g.for_each_tensor([](const std::string& name, std::vector<float>& v) {
      if (name.find(".mlp.") == std::string::npos) v.clear();
    });
  return g;
}

namespace {

// The teacher's logits for one sequence at a time, from one session (KV cache and scratch) reused for all.
class TeacherLogits {
 public:
  TeacherLogits(const Model& teacher, ThreadPool& pool, const std::vector<std::vector<int32_t>>& sequences)
      : teacher_(teacher), session_(teacher, longest(sequences), pool) {}
  const float* operator()(const std::vector<int32_t>& seq) {
    session_.truncate(0);
    const float* logits = session_.forward(seq, true);
    logits_.assign(logits, logits + static_cast<int64_t>(seq.size()) * teacher_.config().vocab_size);
    return logits_.data();
  }

 private:
  static int64_t longest(const std::vector<std::vector<int32_t>>& sequences) {
    size_t n = 1;
    for (const auto& s : sequences) n = std::max(n, s.size());
    return static_cast<int64_t>(n);
  }
  const Model& teacher_;
  Session session_;
  std::vector<float> logits_;
};

void zero(Params<float>& g) {
  g.for_each_tensor([](const std::string&, std::vector<float>& v) { std::fill(v.begin(), v.end(), 0.0f); });
}

void scale(Params<float>& g, float factor) {
  g.for_each_tensor([factor](const std::string&, std::vector<float>& v) {
    for (float& x : v) x *= factor;
  });
}

}  // namespace

void distill(Params<float>& student, const Model& teacher, ThreadPool& pool,
             const std::vector<std::vector<int32_t>>& sequences, const DistillOptions& o, AdamW& adam,
             int64_t first_step, const std::function<void(const DistillStep&)>& on_step) {
  PANGU_CHECK(!sequences.empty(), "distillation needs training sequences");
  PANGU_CHECK(teacher.config().vocab_size == student.config.vocab_size,
              "teacher vocabulary {} differs from the student's {}", teacher.config().vocab_size,
              student.config.vocab_size);
  PANGU_CHECK(o.batch >= 1, "--batch {}: expected at least 1", o.batch);
  Params<float> grads = trainable_gradients(student.config, o.mlp_only);
  TeacherLogits teacher_logits(teacher, pool, sequences);
  for (int64_t step = first_step; step < o.steps; ++step) {
    const auto start = std::chrono::steady_clock::now();
    zero(grads);
    DistillStep log;
    log.step = step + 1;
    int64_t tokens = 0;
    for (int64_t b = 0; b < o.batch; ++b) {
      const auto& seq = sequences[static_cast<size_t>((step * o.batch + b) % static_cast<int64_t>(sequences.size()))];
      const float* targets = o.loss.kl_weight != 0 ? teacher_logits(seq) : nullptr;
      const LossValue v =
          forward_backward(student, seq.data(), static_cast<int64_t>(seq.size()), targets, o.loss, &grads, &pool);
      log.loss.total += v.total / static_cast<double>(o.batch);
      log.loss.ce += v.ce / static_cast<double>(o.batch);
      log.loss.kl += v.kl / static_cast<double>(o.batch);
      tokens += static_cast<int64_t>(seq.size());
    }
    scale(grads, 1.0f / static_cast<float>(o.batch));
    log.grad_norm = clip_grad_norm(grads, o.clip);
    log.lr = o.schedule.at(step);
    adam.step(student, grads, log.lr);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    log.tokens_per_second = static_cast<double>(tokens) / std::max(seconds, 1e-9);
    if (on_step) on_step(log);
  }
}

LossValue distillation_loss(const Params<float>& student, const Model& teacher, ThreadPool& pool,
                            const std::vector<std::vector<int32_t>>& sequences) {
  LossValue mean;
  TeacherLogits teacher_logits(teacher, pool, sequences);
  LossSpec spec{1.0, 1.0, 1.0};
  for (const auto& seq : sequences) {
    const LossValue v = forward_backward(student, seq.data(), static_cast<int64_t>(seq.size()), teacher_logits(seq),
                                         spec, static_cast<Params<float>*>(nullptr), &pool);
    mean.ce += v.ce / static_cast<double>(sequences.size());
    mean.kl += v.kl / static_cast<double>(sequences.size());
  }
  mean.total = mean.kl;
  return mean;
}

}  // namespace pangu
