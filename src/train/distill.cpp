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

void teacher_logits(const Model& teacher, ThreadPool& pool, const std::vector<int32_t>& seq, std::vector<float>& out) {
  Session session(teacher, static_cast<int64_t>(seq.size()), pool);
  const float* logits = session.forward(seq, true);
  out.assign(logits, logits + static_cast<int64_t>(seq.size()) * teacher.config().vocab_size);
}

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
  std::vector<float> teacher_out;
  for (int64_t step = first_step; step < o.steps; ++step) {
    const auto start = std::chrono::steady_clock::now();
    zero(grads);
    DistillStep log;
    log.step = step + 1;
    int64_t tokens = 0;
    for (int64_t b = 0; b < o.batch; ++b) {
      const auto& seq = sequences[static_cast<size_t>((step * o.batch + b) % static_cast<int64_t>(sequences.size()))];
      const bool need_teacher = o.loss.kl_weight != 0;
      if (need_teacher) teacher_logits(teacher, pool, seq, teacher_out);
      const LossValue v = forward_backward(student, seq.data(), static_cast<int64_t>(seq.size()),
                                           need_teacher ? teacher_out.data() : nullptr, o.loss, &grads, &pool);
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
  std::vector<float> teacher_out;
  LossSpec spec{1.0, 1.0, 1.0};
  for (const auto& seq : sequences) {
    teacher_logits(teacher, pool, seq, teacher_out);
    const LossValue v = forward_backward(student, seq.data(), static_cast<int64_t>(seq.size()), teacher_out.data(),
                                         spec, static_cast<Params<float>*>(nullptr), &pool);
    mean.ce += v.ce / static_cast<double>(sequences.size());
    mean.kl += v.kl / static_cast<double>(sequences.size());
  }
  mean.total = mean.kl;
  return mean;
}

}  // namespace pangu
