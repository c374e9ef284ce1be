// `pangu chat` used the way a person uses it: on a terminal (a pseudo-terminal here), default options, several
// turns, on both models the project ships with. Every message must get an answer, also once the conversation
// has outgrown the context.
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "test_util.h"

namespace pangu {
namespace {

class TerminalSession {
 public:
  explicit TerminalSession(const std::vector<std::string>& args) {
    pid_ = forkpty(&fd_, nullptr, nullptr, nullptr);
    if (pid_ == 0) {
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(PANGU_BINARY));
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(PANGU_BINARY, argv.data());
      _exit(127);
    }
  }
  ~TerminalSession() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
  }

  // Reads until the screen shows `marker` after `from`, or the timeout; returns whether it appeared.
  bool wait_for(const std::string& marker, size_t from, double timeout_s) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (screen_.find(marker, from) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) return false;  // the program exited
      screen_.append(buf, static_cast<size_t>(n));
    }
    return true;
  }

  void type(const std::string& line) {
    const std::string text = line + "\n";
    ASSERT_EQ(write(fd_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }

  const std::string& screen() const { return screen_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string screen_;
};

// What the model printed between the echo of `message` and the next prompt, without the log lines.
std::string answer_after(const std::string& screen, size_t from, const std::string& message) {
  const size_t start = screen.find(message, from);
  if (start == std::string::npos) return "";
  const size_t prompt = screen.find("\n> ", start);
  std::string text = screen.substr(start + message.size(), prompt == std::string::npos ? std::string::npos : prompt - start - message.size());
  std::string kept;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    if (line.find("context full") == std::string::npos && line.find("(the reply filled") == std::string::npos)
      kept += line;
    pos = end + 1;
  }
  return kept;
}

void chat_answers_every_message(const std::string& model, const std::vector<std::string>& messages) {
  TerminalSession chat({"chat", "-m", test::shared("models/" + model)});
  ASSERT_TRUE(chat.wait_for("> ", 0, 60)) << chat.screen();
  for (const auto& m : messages) {
    const size_t from = chat.screen().size();
    chat.type(m);
    ASSERT_TRUE(chat.wait_for("\n> ", from + m.size(), 120)) << "no prompt after \"" << m << "\":\n" << chat.screen();
    const std::string answer = answer_after(chat.screen(), from, m);
    EXPECT_NE(answer.find_first_not_of(" \r\n\t"), std::string::npos)
        << "no answer to \"" << m << "\":\n" << chat.screen().substr(from);
  }
  EXPECT_EQ(chat.screen().find("starting over"), std::string::npos);
  EXPECT_NE(chat.screen().find("context full: dropped"), std::string::npos) << "the context never filled";
  EXPECT_EQ(chat.screen().find("error:"), std::string::npos) << chat.screen();
  const size_t from = chat.screen().size();
  chat.type("/exit");
  chat.wait_for("\n", from, 10);
}

// stories260K runs each reply until its 512-token context is full, so from the second message on every turn
// needs the oldest turns dropped.
TEST(ChatTerminal, StoriesAnswersEveryMessageWithDefaults) {
  chat_answers_every_message("stories260K",
                             {"Once upon a time", "The dog ran to the park", "Lily saw a cat", "Tom was sad", "The end"});
}

// zh-poem-750K has a context of 128 positions: a conversation fills it within two turns.
TEST(ChatTerminal, ZhPoemAnswersEveryMessageWithDefaults) {
  chat_answers_every_message("zh-poem-750K",
                             {"春风", "明月照高楼", "白日依山尽", "山", "江南好风景", "秋", "月落乌啼", "大漠孤烟直", "花"});
}

}  // namespace
}  // namespace pangu
