// Runs untrusted Python (model-written MBPP solutions) in a separate process that cannot reach the network,
// fork, outgrow its memory or outlive its time limit. What each layer guarantees is in docs/eval.md.
#pragma once

#include <cstdint>
#include <string>

namespace pangu {

struct SandboxLimits {
  double wall_seconds = 10.0;              // killed (with every thread) after this long
  int64_t memory_bytes = int64_t{1} << 30;  // address space (RLIMIT_AS)
  int64_t file_bytes = int64_t{16} << 20;   // largest file it may write (RLIMIT_FSIZE)
  int64_t disk_bytes = int64_t{64} << 20;   // all it may write together (the size of its private /tmp)
  int64_t output_bytes = 64 << 10;          // stdout/stderr kept for the report
};

enum class SandboxStatus { kPassed, kFailed, kTimeout, kKilled };
std::string sandbox_status_name(SandboxStatus s);  // passed | failed | timeout | killed

struct SandboxResult {
  SandboxStatus status = SandboxStatus::kFailed;
  int exit_code = -1;  // when the process exited
  int signal = 0;      // when a signal ended it
  double seconds = 0;
  std::string stdout_text;  // truncated to SandboxLimits::output_bytes
  std::string stderr_text;
  // The layers that took effect, e.g. "seccomp,netns,private-tmp,landlock,uid-nobody,pdeathsig,rlimits".
  std::string isolation;
};

// Runs `python3 -I` on `program` (held in memory, never written to disk) with a private, size-bounded /tmp
// as its working directory where mount namespaces are allowed, else a fresh temporary directory removed
// afterwards. Throws only when the sandbox itself cannot be set up (no python3, no temp dir).
SandboxResult run_python_sandboxed(const std::string& program, const SandboxLimits& limits = {});

// The python3 the sandbox runs, found on PATH; throws a clear error when there is none.
std::string find_python3();

}  // namespace pangu
