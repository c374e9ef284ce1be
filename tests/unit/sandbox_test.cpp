// The MBPP sandbox: passing and failing programs, and programs that try to hang, fork, eat memory or reach
// the network; the harness must survive every one and keep working.
#include <gtest/gtest.h>

#include <dirent.h>
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "eval/sandbox.h"
#include "pangu/error.h"

namespace pangu {
namespace {

bool have_python() {
  try {
    find_python3();
    return true;
  } catch (const Error&) {
    return false;
  }
}

SandboxLimits quick_limits() {
  SandboxLimits limits;
  limits.wall_seconds = 2.0;
  return limits;
}

// Processes of the whole machine, to see that nothing a sandboxed program started outlives it.
int count_processes() {
  int n = 0;
  DIR* d = opendir("/proc");
  while (dirent* e = readdir(d))
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9') ++n;
  closedir(d);
  return n;
}

class Sandbox : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_python()) GTEST_SKIP() << "no python3";
  }
  // After every hostile program, a correct one still passes.
  void TearDown() override {
    if (!have_python()) return;
    EXPECT_EQ(run_python_sandboxed("assert 1 + 1 == 2\n", quick_limits()).status, SandboxStatus::kPassed);
  }
};

TEST_F(Sandbox, CorrectSolutionPasses) {
  const auto r = run_python_sandboxed(
      "def add(a, b):\n    return a + b\n\nassert add(1, 2) == 3\nassert add(-1, 1) == 0\nprint('ok')\n",
      quick_limits());
  EXPECT_EQ(r.status, SandboxStatus::kPassed) << r.stderr_text;
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_text, "ok\n");
}

TEST_F(Sandbox, WrongSolutionFails) {
  const auto r = run_python_sandboxed("def add(a, b):\n    return a - b\n\nassert add(1, 2) == 3\n", quick_limits());
  EXPECT_EQ(r.status, SandboxStatus::kFailed);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.stderr_text.find("AssertionError"), std::string::npos) << r.stderr_text;
  EXPECT_EQ(run_python_sandboxed("def broken(:\n", quick_limits()).status, SandboxStatus::kFailed);
}

TEST_F(Sandbox, InfiniteLoopIsStoppedByTheTimeLimit) {
  const auto busy = run_python_sandboxed("while True:\n    pass\n", quick_limits());
  EXPECT_EQ(busy.status, SandboxStatus::kTimeout);
  EXPECT_LT(busy.seconds, 4.0);
  // Sleeping uses no CPU time: the wall clock stops it.
  const auto sleeping = run_python_sandboxed("import time\ntime.sleep(100)\n", quick_limits());
  EXPECT_EQ(sleeping.status, SandboxStatus::kTimeout);
  EXPECT_LT(sleeping.seconds, 4.0);
}

TEST_F(Sandbox, ForkBombIsContained) {
  const int before = count_processes();
  const auto r = run_python_sandboxed("import os\nwhile True:\n    os.fork()\n", quick_limits());
  EXPECT_NE(r.status, SandboxStatus::kPassed);
  EXPECT_LT(r.seconds, 4.0);
  const auto spawn = run_python_sandboxed("import subprocess\nsubprocess.run(['true'], check=True)\n", quick_limits());
  EXPECT_NE(spawn.status, SandboxStatus::kPassed) << "a child process was started";
  // Threads stay allowed (some solutions use them).
  const auto threads = run_python_sandboxed(
      "import threading\nout = []\nt = threading.Thread(target=lambda: out.append(1))\nt.start(); t.join()\n"
      "assert out == [1]\n",
      quick_limits());
  EXPECT_EQ(threads.status, SandboxStatus::kPassed) << threads.stderr_text;
  EXPECT_LE(count_processes(), before + 2);  // nothing left behind (other processes may come and go)
}

TEST_F(Sandbox, HugeAllocationIsContained) {
  const auto r = run_python_sandboxed("x = bytearray(10 * 1024 ** 3)\nprint(len(x))\n", quick_limits());
  EXPECT_EQ(r.status, SandboxStatus::kFailed);
  EXPECT_NE(r.stderr_text.find("MemoryError"), std::string::npos) << r.stderr_text;
  SandboxLimits small = quick_limits();
  small.memory_bytes = int64_t{512} << 20;  // growing to the limit writes every page: keep it quick
  const auto grow =
      run_python_sandboxed("chunks = []\nwhile True:\n    chunks.append(bytearray(64 << 20))\n", small);
  EXPECT_EQ(grow.status, SandboxStatus::kFailed);
}

TEST_F(Sandbox, NetworkSocketFails) {
  const auto r = run_python_sandboxed(
      "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\ns.connect(('127.0.0.1', 9))\n",
      quick_limits());
  EXPECT_EQ(r.status, SandboxStatus::kFailed);
  EXPECT_NE(r.stderr_text.find("PermissionError"), std::string::npos) << r.stderr_text;
  const auto probe = run_python_sandboxed(
      "import socket\nfor family in (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX):\n"
      "    try:\n        socket.socket(family, socket.SOCK_STREAM)\n        print('open')\n"
      "    except OSError:\n        print('blocked')\n",
      quick_limits());
  EXPECT_EQ(probe.status, SandboxStatus::kPassed);
  EXPECT_EQ(probe.stdout_text, "blocked\nblocked\nblocked\n");
#if defined(__x86_64__) || defined(__aarch64__)
  EXPECT_NE(r.isolation.find("seccomp"), std::string::npos) << r.isolation;
#endif
}

TEST_F(Sandbox, OutputIsCapped) {
  SandboxLimits limits = quick_limits();
  limits.output_bytes = 1000;
  const auto r = run_python_sandboxed("print('x' * 100000)\n", limits);
  EXPECT_EQ(r.status, SandboxStatus::kPassed);
  EXPECT_EQ(r.stdout_text.size(), 1000u);
}

constexpr uid_t kNobodyUid = 65534;

// Runs fn in a forked copy of this process as the user `nobody` when we are root (as we are otherwise), so
// the sandbox's unprivileged path is tested too. fn's result comes back as the exit status.
bool as_unprivileged_harness(const std::function<bool()>& fn) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (geteuid() == 0 && (setgroups(0, nullptr) != 0 || setgid(kNobodyUid) != 0 || setuid(kNobodyUid) != 0))
      _exit(3);
    bool ok = false;
    try {
      ok = fn();
    } catch (...) {
    }
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Points TMPDIR at a directory of this test's own while it lives, so that what the sandbox leaves there is
// this test's alone (other test processes run sandboxes at the same time).
class PrivateTmpdir {
 public:
  PrivateTmpdir() {
    std::string templ = (std::filesystem::temp_directory_path() / "sandbox-test-XXXXXX").string();
    path_ = mkdtemp(templ.data());
    std::filesystem::permissions(path_, std::filesystem::perms::all);  // the sandbox may run as nobody
    const char* old = std::getenv("TMPDIR");
    old_ = old ? old : "";
    had_old_ = old != nullptr;
    setenv("TMPDIR", path_.c_str(), 1);
  }
  ~PrivateTmpdir() {
    if (had_old_)
      setenv("TMPDIR", old_.c_str(), 1);
    else
      unsetenv("TMPDIR");
    std::filesystem::remove_all(path_);
  }

 private:
  std::string path_, old_;
  bool had_old_ = false;
};

std::vector<std::string> sandbox_dirs() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::temp_directory_path()))
    if (e.path().filename().string().rfind("pangu-sandbox-", 0) == 0) out.push_back(e.path().string());
  return out;
}

// A directory outside the sandbox that the sandbox's user could write by its permissions (mode 0777): only
// the filesystem layer (Landlock) keeps the program out. Not under /tmp, which the program sees privately.
struct OutsideDir {
  std::string path;
  OutsideDir() {
    std::string templ = (std::filesystem::current_path() / "sandbox-outside-XXXXXX").string();
    path = mkdtemp(templ.data());
    std::filesystem::permissions(path, std::filesystem::perms::all);
  }
  ~OutsideDir() { std::filesystem::remove_all(path); }
};

std::string write_attempt(const std::string& target) {
  return "try:\n    open('" + target + "', 'w').write('pwned')\n    print('written')\nexcept OSError as e:\n"
         "    print('denied', e.errno)\n";
}

TEST_F(Sandbox, WritesOutsideItsDirectoryAreDenied) {
  OutsideDir outside;
  const std::string target = outside.path + "/.bashrc";
  const auto r = run_python_sandboxed(write_attempt(target), quick_limits());
  if (r.isolation.find("landlock") == std::string::npos)
    GTEST_SKIP() << "no Landlock in this kernel (isolation: " << r.isolation << ")";
  EXPECT_EQ(r.stdout_text.rfind("denied", 0), 0u) << r.stdout_text << r.stderr_text;
  EXPECT_FALSE(std::filesystem::exists(target));
  // The same from a harness that is not root (user namespaces instead of a switch to nobody).
  EXPECT_TRUE(as_unprivileged_harness([&] {
    const auto u = run_python_sandboxed(write_attempt(target), quick_limits());
    return u.stdout_text.rfind("denied", 0) == 0 && u.isolation.find("landlock") != std::string::npos;
  }));
  EXPECT_FALSE(std::filesystem::exists(target));
  // Its own working directory stays writable.
  const auto own = run_python_sandboxed(write_attempt("own.txt"), quick_limits());
  EXPECT_EQ(own.stdout_text, "written\n") << own.stderr_text;
}

TEST_F(Sandbox, TotalWritesAreBoundedAndLeaveNothingBehind) {
  PrivateTmpdir tmpdir;
  const auto before = sandbox_dirs();
  SandboxLimits limits = quick_limits();
  limits.disk_bytes = 8 << 20;
  limits.file_bytes = 4 << 20;
  // Many files each under the per-file limit, then the shared-memory and other temp directories.
  const std::string program =
      "import os\nwritten = 0\ntry:\n    for i in range(64):\n        with open(f'f{i}', 'wb') as f:\n"
      "            f.write(b'x' * (1 << 20))\n        written += 1\nexcept OSError:\n    pass\n"
      "print(written)\nfor d in ('/dev/shm', '/var/tmp'):\n    try:\n        open(d + '/pangu-probe', 'w').write('x')\n"
      "        print('written', d)\n    except OSError:\n        print('denied', d)\n";
  const auto r = run_python_sandboxed(program, limits);
  if (r.isolation.find("private-tmp") == std::string::npos)
    GTEST_SKIP() << "no mount namespace here (isolation: " << r.isolation << ")";
  EXPECT_EQ(r.status, SandboxStatus::kPassed) << r.stderr_text;
  std::istringstream out(r.stdout_text);
  int written = -1;
  out >> written;
  EXPECT_GE(written, 4) << r.stdout_text;
  EXPECT_LE(written, 8) << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("denied /dev/shm"), std::string::npos) << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("denied /var/tmp"), std::string::npos) << r.stdout_text;
  EXPECT_FALSE(std::filesystem::exists("/dev/shm/pangu-probe"));
  EXPECT_FALSE(std::filesystem::exists("/var/tmp/pangu-probe"));
  EXPECT_EQ(sandbox_dirs(), before);
  EXPECT_TRUE(as_unprivileged_harness([&] {
    const auto u = run_python_sandboxed(program, limits);
    std::istringstream o(u.stdout_text);
    int n = -1;
    o >> n;
    return u.isolation.find("private-tmp") != std::string::npos && n >= 4 && n <= 8;
  }));
}

// The pid of a process whose parent is `parent`, waiting up to a few seconds for it to appear.
pid_t child_of(pid_t parent) {
  for (int attempt = 0; attempt < 500; ++attempt) {
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
      const std::string name = e.path().filename().string();
      if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
      std::ifstream status(e.path() / "status");
      std::string line;
      while (std::getline(status, line))
        if (line.rfind("PPid:", 0) == 0 && std::stoi(line.substr(5)) == parent) return std::stoi(name);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

bool alive(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("State:", 0) == 0) return line.find('Z') == std::string::npos && line.find('X') == std::string::npos;
  return false;
}

// `kill -9` of the harness ends the program it was running (the parent-death signal survives the switch
// to nobody), and leaves no temporary directory behind.
TEST_F(Sandbox, KilledHarnessTakesTheProgramWithIt) {
  PrivateTmpdir tmpdir;
  const auto before = sandbox_dirs();
  for (bool unprivileged : {false, true}) {
    SCOPED_TRACE(unprivileged ? "unprivileged harness" : "this process's user");
    const pid_t harness = fork();
    if (harness == 0) {
      if (unprivileged && geteuid() == 0 && (setgroups(0, nullptr) != 0 || setgid(kNobodyUid) != 0 || setuid(kNobodyUid) != 0))
        _exit(3);
      SandboxLimits limits;
      limits.wall_seconds = 30;
      run_python_sandboxed("import time\ntime.sleep(30)\n", limits);
      _exit(0);
    }
    const pid_t program = child_of(harness);
    ASSERT_GT(program, 0) << "the sandboxed program never started";
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // past its set-up, into python
    kill(harness, SIGKILL);
    waitpid(harness, nullptr, 0);
    bool gone = false;
    for (int i = 0; i < 300 && !gone; ++i) {
      gone = !alive(program);
      if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(gone) << "pid " << program << " outlived its harness";
    if (!gone) kill(program, SIGKILL);
  }
  EXPECT_EQ(sandbox_dirs(), before);
}

}  // namespace
}  // namespace pangu
