// The streaming side of Model.generate(stream=True): decoding runs on a thread of its own, without the GIL,
// and hands text pieces to the Python iterator through a queue. Python code between pieces never holds the
// model up, and dropping the iterator cancels the generation at the next token.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "adapt/strategy_choice.h"
#include "pangu/generate.h"

namespace pangu::python {

class TokenStream {
 public:
  // `produce(on_piece, cancelled)` decodes, calling on_piece with each text piece, and returns the result;
  // it runs on the stream's thread, which starts here.
  using Producer = std::function<GenerateResult(const std::function<void(std::string)>& on_piece,
                                                const std::atomic<bool>& cancelled)>;
  explicit TokenStream(Producer produce);
  ~TokenStream();  // cancels and joins
  TokenStream(const TokenStream&) = delete;
  TokenStream& operator=(const TokenStream&) = delete;

  // The next piece, or nullopt at the end. Blocks (the caller releases the GIL); rethrows a decoding error.
  std::optional<std::string> next();
  void cancel() { cancelled_ = true; }
  // The whole result once next() has returned nullopt.
  const GenerateResult& result() const { return result_; }
  bool finished() const;
  // What strategy= chose for this generation, for its completion; set once, before iteration.
  std::optional<StrategyChoice> strategy;

 private:
  std::thread worker_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::string> pieces_;
  bool done_ = false;
  std::exception_ptr error_;
  std::atomic<bool> cancelled_{false};
  GenerateResult result_;
};

}  // namespace pangu::python
