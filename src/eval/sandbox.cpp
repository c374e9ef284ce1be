#include "eval/sandbox.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
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

#include <fmt/format.h>

#include "pangu/error.h"

namespace pangu {

namespace {

constexpr uid_t kNobody = 65534;

// Which layers the child managed to put in place, reported through a pipe before exec.
enum IsolationBit : uint16_t {
  kNetNamespace = 1,
  kDroppedToNobody = 2,
  kSeccomp = 4,
  kPrivateTmp = 8,
  kLandlock = 16,
  kParentDeath = 32,
  kExecFailed = 0x8000
};

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

// Writes text to a /proc file with system calls only (the child of a threaded parent must not allocate).
bool write_proc_file(const char* path, const char* text) {
  const int fd = static_cast<int>(syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC));
  if (fd < 0) return false;
  const size_t n = std::strlen(text);
  const bool ok = write(fd, text, n) == static_cast<ssize_t>(n);
  close(fd);
  return ok;
}

// Formats "ID ID 1\n" into buf (an identity map of one id for uid_map / gid_map) without allocating.
const char* identity_map(unsigned id, char* buf, size_t size) {
  char digits[16];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + id % 10);
    id /= 10;
  } while (id > 0 && n < 15);
  size_t at = 0;
  for (int copy = 0; copy < 2; ++copy) {
    for (int i = n - 1; i >= 0 && at + 1 < size; --i) buf[at++] = digits[i];
    if (at + 1 < size) buf[at++] = ' ';
  }
  const char tail[] = "1\n";
  for (size_t i = 0; tail[i] && at + 1 < size; ++i) buf[at++] = tail[i];
  buf[at] = '\0';
  return buf;
}

// A private /tmp: a tmpfs of fixed size in a mount namespace of the child's own, which is also its working
// directory. The total it can write is bounded, and all of it is gone with the namespace, even when the
// harness is killed. /dev/shm and /var/tmp are covered read-only.
bool mount_private_tmp(const char* tmpfs_options) {
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
  if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, tmpfs_options) != 0) return false;
  for (const char* dir : {"/dev/shm", "/var/tmp"})
    if (access(dir, F_OK) == 0 &&
        mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "size=4k") != 0)
      return false;
  return chdir("/tmp") == 0;
}

// Landlock: every kind of write (creating, removing, renaming, truncating, writing files) is refused outside
// `writable` and /dev/null, whoever owns the files. Reads stay allowed (the interpreter needs /usr). Returns
// false where the kernel has no Landlock (before 5.13, or disabled).
bool restrict_writes_to(const char* writable) {
  const long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 1) return false;
  uint64_t writes = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
                    LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
                    LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
                    LANDLOCK_ACCESS_FS_MAKE_SYM;
#ifdef LANDLOCK_ACCESS_FS_REFER
  if (abi >= 2) writes |= LANDLOCK_ACCESS_FS_REFER;
#endif
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
  if (abi >= 3) writes |= LANDLOCK_ACCESS_FS_TRUNCATE;
#endif
  landlock_ruleset_attr attr{};
  attr.handled_access_fs = writes;
  const int ruleset = static_cast<int>(syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0));
  if (ruleset < 0) return false;
  bool ok = true;
  const struct {
    const char* path;
    uint64_t allowed;
  } rules[] = {{writable, writes}, {"/dev/null", LANDLOCK_ACCESS_FS_WRITE_FILE}};
  for (const auto& rule : rules) {
    const int fd = static_cast<int>(syscall(SYS_openat, AT_FDCWD, rule.path, O_PATH | O_CLOEXEC));
    if (fd < 0) {
      ok = false;
      break;
    }
    landlock_path_beneath_attr beneath{};
    beneath.allowed_access = rule.allowed;
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
    if (rule.allowed != writes && abi >= 3) beneath.allowed_access |= LANDLOCK_ACCESS_FS_TRUNCATE;
#endif
    beneath.parent_fd = fd;
    ok = syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0) == 0;
    close(fd);
    if (!ok) break;
  }
  ok = ok && syscall(SYS_landlock_restrict_self, ruleset, 0) == 0;
  close(ruleset);
  return ok;
}

// Everything the child needs, prepared before fork: afterwards it may only make system calls.
struct ChildSetup {
  const char* fallback_dir;  // cwd when no private /tmp can be mounted
  int program_fd, out_fd, err_fd, null_fd, report_fd;
  const SandboxLimits* limits;
  bool root;
  pid_t harness;
  const char* tmpfs_options;
  sock_fprog* filter;
  char* const* argv;
  char* const* envp;
};

// Runs in the forked child: only system calls from here to exec (the parent has threads).
[[noreturn]] void child_main(const ChildSetup& c) {
  uint16_t layers = 0;
  setsid();  // its own process group, so the parent can kill every descendant at once
  dup2(c.null_fd, 0);
  dup2(c.out_fd, 1);
  dup2(c.err_fd, 2);
  // The program, read by python3 as /dev/fd/3: it has no name on any disk. dup2 onto itself would keep
  // close-on-exec, so that case clears the flag instead.
  if (c.program_fd == 3)
    fcntl(3, F_SETFD, 0);
  else
    dup2(c.program_fd, 3);
  const unsigned uid = getuid(), gid = getgid();
  bool namespaces = unshare(c.root ? (CLONE_NEWNET | CLONE_NEWNS) : (CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS)) == 0;
  if (namespaces) {
    layers |= kNetNamespace;
    if (!c.root) {  // map our own ids, or files the program creates would have no owner (EOVERFLOW)
      // A harness that changed user is not dumpable, which makes /proc/self root's; the maps need it ours.
      prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
      char map[64];
      write_proc_file("/proc/self/setgroups", "deny");
      write_proc_file("/proc/self/uid_map", identity_map(uid, map, sizeof map));
      write_proc_file("/proc/self/gid_map", identity_map(gid, map, sizeof map));
    }
    if (mount_private_tmp(c.tmpfs_options)) layers |= kPrivateTmp;
  } else if (unshare(c.root ? CLONE_NEWNET : (CLONE_NEWUSER | CLONE_NEWNET)) == 0) {
    layers |= kNetNamespace;
  }
  if (!(layers & kPrivateTmp) && chdir(c.fallback_dir) != 0) _exit(126);

  const double cpu = c.limits->wall_seconds + 1.0;
  set_limit(RLIMIT_CPU, static_cast<rlim_t>(cpu));
  set_limit(RLIMIT_AS, static_cast<rlim_t>(c.limits->memory_bytes));
  set_limit(RLIMIT_FSIZE, static_cast<rlim_t>(c.limits->file_bytes));
  set_limit(RLIMIT_NOFILE, 256);
  set_limit(RLIMIT_CORE, 0);
  if (c.root) {
    set_limit(RLIMIT_NPROC, 64);  // counted per user, so it binds once the uid is nobody's
    if (syscall(SYS_setgroups, 0, nullptr) == 0 && syscall(SYS_setresgid, kNobody, kNobody, kNobody) == 0 &&
        syscall(SYS_setresuid, kNobody, kNobody, kNobody) == 0)
      layers |= kDroppedToNobody;
  }
  // A change of user clears the parent-death signal, so it is set after the switch; the parent may already
  // have died in between, which the check of the parent's pid catches.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) == 0) layers |= kParentDeath;
  if (getppid() != c.harness) _exit(125);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (restrict_writes_to(".")) layers |= kLandlock;
  if (c.filter && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, c.filter) == 0) layers |= kSeccomp;
  if (write(c.report_fd, &layers, sizeof layers) != sizeof layers) _exit(126);
  // Every descriptor but 0-3 and the report pipe (close-on-exec) goes.
  const unsigned keep = static_cast<unsigned>(c.report_fd);
  const bool closed = (keep <= 4 || syscall(SYS_close_range, 4u, keep - 1, 0u) == 0) &&
                      syscall(SYS_close_range, keep + 1, ~0u, 0u) == 0;
  if (!closed)
    for (int fd = 4; fd < 1024; ++fd)
      if (fd != c.report_fd) close(fd);
  execve(c.argv[0], c.argv, c.envp);
  const uint16_t failed[2] = {kExecFailed, static_cast<uint16_t>(errno)};
  (void)!write(c.report_fd, failed, sizeof failed);
  _exit(127);
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

namespace {

// An anonymous in-memory file (no name on any disk), closed on exec unless dup2'ed.
int make_memfd(const char* name) { return static_cast<int>(syscall(SYS_memfd_create, name, MFD_CLOEXEC)); }

std::string read_fd_capped(int fd, int64_t cap) {
  std::string text(static_cast<size_t>(cap), '\0');
  size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = pread(fd, text.data() + got, text.size() - got, static_cast<off_t>(got));
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  return text;
}

}  // namespace

SandboxResult run_python_sandboxed(const std::string& program, const SandboxLimits& limits) {
  const std::string python = find_python3();
  // The working directory used only where no private /tmp can be mounted (no mount namespace allowed);
  // otherwise it is removed as soon as the child reports its layers.
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
  const bool root = geteuid() == 0;
  if (root) (void)!chown(dir.c_str(), kNobody, kNobody);  // the program runs as nobody

  const int program_fd = make_memfd("pangu-program");
  const int out_fd = make_memfd("pangu-stdout");
  const int err_fd = make_memfd("pangu-stderr");
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int report[2] = {-1, -1};
  const bool opened = program_fd >= 0 && out_fd >= 0 && err_fd >= 0 && null_fd >= 0 && pipe2(report, O_CLOEXEC) == 0;
  auto close_all = [&] {
    for (int fd : {program_fd, out_fd, err_fd, null_fd, report[0], report[1]})
      if (fd >= 0) close(fd);
  };
  if (!opened || write(program_fd, program.data(), program.size()) != static_cast<ssize_t>(program.size())) {
    close_all();
    fail("sandbox: cannot set up in-memory files for the program: {}", std::strerror(errno));
  }

  // Everything the child needs is built before fork: it may only make system calls afterwards.
  std::vector<std::string> args = {python, "-I", "-B", "/dev/fd/3"};
  std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "HOME=/tmp",
                                  "PYTHONHASHSEED=0"};
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string tmpfs_options =
      fmt::format("size={},nr_inodes=4096,mode=1777", std::max<int64_t>(limits.disk_bytes, 4096));
  sock_fprog* filter = nullptr;
#ifdef PANGU_HAVE_SECCOMP
  std::vector<sock_filter> filter_code = seccomp_program();
  sock_fprog filter_prog{static_cast<unsigned short>(filter_code.size()), filter_code.data()};
  filter = &filter_prog;
#endif
  const ChildSetup setup{dir.c_str(), program_fd, out_fd, err_fd, null_fd, report[1], &limits, root, getpid(),
                         tmpfs_options.c_str(), filter, argv.data(), envp.data()};

  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) {
    close_all();
    fail("sandbox: fork failed: {}", std::strerror(errno));
  }
  if (pid == 0) child_main(setup);

  close(report[1]);
  report[1] = -1;
  uint16_t report_words[3] = {0, 0, 0};  // the layers, then on exec failure the marker and errno
  auto* report_bytes = reinterpret_cast<uint8_t*>(report_words);
  size_t reported = 0;
  for (ssize_t got; reported < sizeof report_words &&
                    (got = read(report[0], report_bytes + reported, sizeof report_words - reported)) > 0;)
    reported += static_cast<size_t>(got);  // ends at exec (close-on-exec) or exit
  const uint16_t layers = report_words[0];
  const bool exec_failed = reported >= 4 && report_words[1] == kExecFailed;
  if (layers & kPrivateTmp) {  // the program works in its own /tmp: nothing of it is on the disk
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

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
  result.stdout_text = read_fd_capped(out_fd, limits.output_bytes);
  result.stderr_text = read_fd_capped(err_fd, limits.output_bytes);
  close_all();

  PANGU_CHECK(!exec_failed, "sandbox: cannot run {}{}: {}", python, root ? " as user nobody" : "",
              std::strerror(report_words[2]));
  std::vector<std::string> names;
  if (layers & kSeccomp) names.push_back("seccomp");
  if (layers & kNetNamespace) names.push_back("netns");
  if (layers & kPrivateTmp) names.push_back("private-tmp");
  if (layers & kLandlock) names.push_back("landlock");
  if (layers & kDroppedToNobody) names.push_back("uid-nobody");
  if (layers & kParentDeath) names.push_back("pdeathsig");
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
  return result;
}

}  // namespace pangu
