// The MBPP sandbox: passing and failing programs, and programs that try to hang, fork, eat memory or reach
// the network; the harness must survive every one and keep working.
#include <gtest/gtest.h>

#include <dirent.h>

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

}  // namespace
}  // namespace pangu
