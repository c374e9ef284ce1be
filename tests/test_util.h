// Helpers shared by the test executables: paths to ../shared and tests/data, JSON files, running the CLI.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>
#include <sstream>
#include <string>

namespace pangu::test {

// Built with append: GCC 12 misreads `std::string(dir) + "/" + rel` with an empty rel as out of bounds.
inline std::string join_path(const char* dir, const std::string& rel) {
  std::string path(dir);
  path.push_back('/');
  path.append(rel);
  return path;
}
inline std::string shared(const std::string& rel) { return join_path(PANGU_SHARED_DIR, rel); }
inline std::string test_data(const std::string& rel) { return join_path(PANGU_TEST_DATA_DIR, rel); }

// n values from N(0, stddev^2), reproducible from the seed.
inline std::vector<float> random_vector(int64_t n, uint64_t seed, float stddev = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, stddev);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = d(rng);
  return v;
}

// The dot product in double: the exact sum every kernel path is judged against.
inline double exact_dot(const std::vector<float>& w, const std::vector<float>& x) {
  double s = 0;
  for (size_t i = 0; i < w.size(); ++i) s += static_cast<double>(w[i]) * x[i];
  return s;
}

inline nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "pangu-test-XXXXXX").string();
    path_ = mkdtemp(templ.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the pangu binary with args (a shell-quoted string), capturing stdout and stderr.
inline CommandResult run_pangu(const std::string& args) {
  TempDir tmp;
  const std::string cmd =
      std::string(PANGU_BINARY) + " " + args + " >" + (tmp / "out") + " 2>" + (tmp / "err");
  const int status = std::system(cmd.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_text(tmp / "out");
  r.err = read_text(tmp / "err");
  return r;
}

// Starts the pangu binary with args in the background (output discarded); returns its pid for kill/waitpid.
inline pid_t start_pangu(const std::string& args) {
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string cmd = std::string("exec ") + PANGU_BINARY + " " + args + " >/dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

}  // namespace pangu::test
