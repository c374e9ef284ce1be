#include "eval/sandbox.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "pangu/error.h"

namespace pangu {

namespace {

constexpr uid_t kNobody = 65534;

// Which layers the child managed to put in place, reported through a pipe before exec.
enum IsolationBit : uint8_t { kNetNamespace = 1, kDroppedToNobody = 2, kSeccomp = 4, kExecFailed = 128 };

#if defined(__x86_64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_X86_64;
#define PANGU_HAVE_SECCOMP 1
#elif defined(__aarch64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_AARCH64;
#define PANGU_HAVE_SECCOMP 1
#endif

#ifdef PANGU_HAVE_SECCOMP
// Denies sockets of every family (no network, no local daemons), new processes (threads are allowed: a
// clone must carry CLONE_THREAD), io_uring (which would bypass these checks), ptrace and namespace games.
// A syscall of another ABI (x32) is refused outright.
std::vector<sock_filter> seccomp_program() {
  std::vector<sock_filter> f;
  auto deny = [&f](int nr, int err) {
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0, 1));
    f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (static_cast<uint32_t>(err) & SECCOMP_RET_DATA)));
  };
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kAuditArch, 1, 0));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
#if defined(__x86_64__)
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1));  // __X32_SYSCALL_BIT
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
#endif
  deny(SYS_socket, EACCES);
  deny(SYS_ptrace, EPERM);
  deny(SYS_unshare, EPERM);
  deny(SYS_setns, EPERM);
  deny(SYS_mount, EPERM);
#ifdef SYS_fork
  deny(SYS_fork, EPERM);
#endif
#ifdef SYS_vfork
  deny(SYS_vfork, EPERM);
#endif
#ifdef SYS_clone3
  deny(SYS_clone3, ENOSYS);  // its flags live in memory a filter cannot read; libc falls back to clone
#endif
#ifdef SYS_io_uring_setup
  deny(SYS_io_uring_setup, ENOSYS);
#endif
  // clone: allowed only for threads (flags are the first argument on x86-64 and arm64).
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 3));
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0])));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 1, 0));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  return f;
}
#endif

void set_limit(int resource, rlim_t value) {
  rlimit r{value, value};
  setrlimit(resource, &r);
}

// Runs in the forked child: only system calls from here to exec (the parent has threads).
[[noreturn]] void child_main(const char* dir, int out_fd, int err_fd, int null_fd, int report_fd,
                             const SandboxLimits& limits, bool root, sock_fprog* filter, char* const* argv,
                             char* const* envp) {
  uint8_t layers = 0;
  setsid();  // its own process group, so the parent can kill every descendant at once
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with the harness
  dup2(null_fd, 0);
  dup2(out_fd, 1);
  dup2(err_fd, 2);
  if (chdir(dir) != 0) _exit(126);
  const int ns_flags = root ? CLONE_NEWNET : (CLONE_NEWUSER | CLONE_NEWNET);
  if (unshare(ns_flags) == 0) layers |= kNetNamespace;

  const double cpu = limits.wall_seconds + 1.0;
  set_limit(RLIMIT_CPU, static_cast<rlim_t>(cpu));
  set_limit(RLIMIT_AS, static_cast<rlim_t>(limits.memory_bytes));
  set_limit(RLIMIT_FSIZE, static_cast<rlim_t>(limits.file_bytes));
  set_limit(RLIMIT_NOFILE, 256);
  set_limit(RLIMIT_CORE, 0);
  if (root) {
    set_limit(RLIMIT_NPROC, 64);  // counted per user, so it binds once the uid is nobody's
    if (syscall(SYS_setgroups, 0, nullptr) == 0 && syscall(SYS_setresgid, kNobody, kNobody, kNobody) == 0 &&
        syscall(SYS_setresuid, kNobody, kNobody, kNobody) == 0)
      layers |= kDroppedToNobody;
  }
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (filter && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, filter) == 0) layers |= kSeccomp;
  if (write(report_fd, &layers, 1) != 1) _exit(126);
  // Every descriptor but the three standard ones and the report pipe (close-on-exec) goes.
  const unsigned keep = static_cast<unsigned>(report_fd);
  const bool closed = (keep <= 3 || syscall(SYS_close_range, 3u, keep - 1, 0u) == 0) &&
                      syscall(SYS_close_range, keep + 1, ~0u, 0u) == 0;
  if (!closed)
    for (int fd = 3; fd < 1024; ++fd)
      if (fd != report_fd) close(fd);
  execve(argv[0], argv, envp);
  const uint8_t failed[2] = {kExecFailed, static_cast<uint8_t>(errno)};
  (void)!write(report_fd, failed, 2);
  _exit(127);
}

std::string read_capped(const std::string& path, int64_t cap) {
  std::ifstream in(path, std::ios::binary);
  std::string text(static_cast<size_t>(cap), '\0');
  in.read(text.data(), cap);
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

}  // namespace

std::string sandbox_status_name(SandboxStatus s) {
  switch (s) {
    case SandboxStatus::kPassed: return "passed";
    case SandboxStatus::kFailed: return "failed";
    case SandboxStatus::kTimeout: return "timeout";
    case SandboxStatus::kKilled: return "killed";
  }
  return "?";
}

std::string find_python3() {
  // The system interpreter first: shims of version managers (pyenv, conda) live in a home directory the
  // sandbox's user cannot enter, and need an environment the sandbox does not pass.
  if (const char* given = std::getenv("PANGU_PYTHON"); given && *given) {
    PANGU_CHECK(access(given, X_OK) == 0, "PANGU_PYTHON={}: not an executable file", given);
    return given;
  }
  for (const char* system : {"/usr/bin/python3", "/usr/local/bin/python3"})
    if (access(system, X_OK) == 0) return system;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/python3";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  fail("MBPP runs the generated code with python3, and there is none (install python3, or set PANGU_PYTHON)");
}

SandboxResult run_python_sandboxed(const std::string& program, const SandboxLimits& limits) {
  const std::string python = find_python3();
  std::string templ = (std::filesystem::temp_directory_path() / "pangu-sandbox-XXXXXX").string();
  PANGU_CHECK(mkdtemp(templ.data()) != nullptr, "sandbox: cannot create a temporary directory under {}: {}",
              std::filesystem::temp_directory_path().string(), std::strerror(errno));
  const std::string dir = templ;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir};

  const std::string script = dir + "/program.py";
  {
    std::ofstream out(script, std::ios::binary);
    out << program;
    PANGU_CHECK(out.good(), "sandbox: cannot write {}", script);
  }
  const bool root = geteuid() == 0;
  if (root) {  // the program runs as nobody and must be able to use its own directory
    (void)!chown(dir.c_str(), kNobody, kNobody);
    (void)!chown(script.c_str(), kNobody, kNobody);
  }
  const std::string out_path = dir + "/stdout.txt", err_path = dir + "/stderr.txt";
  const int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int report[2] = {-1, -1};
  const bool opened = out_fd >= 0 && err_fd >= 0 && null_fd >= 0 && pipe2(report, O_CLOEXEC) == 0;
  auto close_all = [&] {
    for (int fd : {out_fd, err_fd, null_fd, report[0], report[1]})
      if (fd >= 0) close(fd);
  };
  if (!opened) {
    close_all();
    fail("sandbox: cannot open output files in {}: {}", dir, std::strerror(errno));
  }

  // Everything the child needs is built before fork: it may only make system calls afterwards.
  std::vector<std::string> args = {python, "-I", "-B", "program.py"};
  std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "HOME=" + dir,
                                  "PYTHONHASHSEED=0"};
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  sock_fprog* filter = nullptr;
#ifdef PANGU_HAVE_SECCOMP
  std::vector<sock_filter> filter_code = seccomp_program();
  sock_fprog filter_prog{static_cast<unsigned short>(filter_code.size()), filter_code.data()};
  filter = &filter_prog;
#endif

  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) {
    close_all();
    fail("sandbox: fork failed: {}", std::strerror(errno));
  }
  if (pid == 0)
    child_main(dir.c_str(), out_fd, err_fd, null_fd, report[1], limits, root, filter, argv.data(), envp.data());

  close(report[1]);
  report[1] = -1;
  uint8_t report_bytes[3] = {0, 0, 0};
  size_t reported = 0;  // the layers byte, then on exec failure the marker and errno
  for (ssize_t got; reported < 3 && (got = read(report[0], report_bytes + reported, 3 - reported)) > 0;)
    reported += static_cast<size_t>(got);  // ends at exec (close-on-exec) or exit
  const uint8_t layers = report_bytes[0];
  const bool exec_failed = reported >= 2 && report_bytes[1] == kExecFailed;

  SandboxResult result;
  int status = 0;
  bool timed_out = false;
  auto sleep = std::chrono::microseconds(100);
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (done < 0 && errno != EINTR) break;
    if (elapsed > limits.wall_seconds) {
      timed_out = true;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(sleep);
    sleep = std::min(sleep * 2, std::chrono::microseconds(5000));
  }
  kill(-pid, SIGKILL);  // whatever the program left behind in its group
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  close_all();

  PANGU_CHECK(!exec_failed, "sandbox: cannot run {}{}: {}", python, root ? " as user nobody" : "",
              std::strerror(report_bytes[2]));
  std::vector<std::string> names;
  if (layers & kSeccomp) names.push_back("seccomp");
  if (layers & kNetNamespace) names.push_back("netns");
  if (layers & kDroppedToNobody) names.push_back("uid-nobody");
  names.push_back("rlimits");
  for (size_t i = 0; i < names.size(); ++i) result.isolation += (i ? "," : "") + names[i];

  if (timed_out) {
    result.status = SandboxStatus::kTimeout;
  } else if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
    result.status = result.exit_code == 0 ? SandboxStatus::kPassed : SandboxStatus::kFailed;
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
    result.status = result.signal == SIGXCPU ? SandboxStatus::kTimeout : SandboxStatus::kKilled;
  }
  result.stdout_text = read_capped(out_path, limits.output_bytes);
  result.stderr_text = read_capped(err_path, limits.output_bytes);
  return result;
}

}  // namespace pangu
