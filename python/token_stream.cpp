#include "token_stream.h"

namespace pangu::python {

TokenStream::TokenStream(Producer produce) {
  worker_ = std::thread([this, produce = std::move(produce)] {
    GenerateResult result;
    std::exception_ptr error;
    try {
      result = produce(
          [this](std::string piece) {
            std::lock_guard<std::mutex> lock(mutex_);
            pieces_.push_back(std::move(piece));
            ready_.notify_one();
          },
          cancelled_);
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    result_ = std::move(result);
    error_ = error;
    done_ = true;
    ready_.notify_one();
  });
}

TokenStream::~TokenStream() {
  cancelled_ = true;
  if (worker_.joinable()) worker_.join();
}

std::optional<std::string> TokenStream::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  ready_.wait(lock, [this] { return !pieces_.empty() || done_; });
  if (!pieces_.empty()) {
    std::string piece = std::move(pieces_.front());
    pieces_.pop_front();
    return piece;
  }
  if (error_) {
    std::exception_ptr error = error_;
    error_ = nullptr;  // raised once; the iterator is then exhausted
    std::rethrow_exception(error);
  }
  return std::nullopt;
}

bool TokenStream::finished() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return done_ && pieces_.empty();
}

}  // namespace pangu::python
