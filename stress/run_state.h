// The framework's own state (not for scenarios): what the parent, the
// janitor and the workers share in one MAP_SHARED mapping made before fork,
// and the helpers every process of a run uses on it.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "framework.h"
#include "latency_histogram.h"

namespace shmconform::stress {

inline constexpr unsigned kMaxMessages = 8;  // violation messages kept for the report
inline constexpr std::size_t kMessageLen = 700;

struct WorkerStats {
  std::uint64_t ops;
  std::uint64_t expected_failures;
  std::uint32_t hist[kMaxOpTypes][kBuckets];
};

struct SharedState {
  std::atomic<int> stop;
  std::atomic<std::uint32_t> violations;
  std::atomic<std::uint32_t> messages_used;
  char messages[kMaxMessages][kMessageLen];
  std::uint64_t deadline_ns;
  pid_t parent_pid;
  pid_t worker_pids[kMaxWorkers];
  WorkerStats workers[kMaxWorkers];
};

// "stress-<scenario>": the first word of every line the run prints.
const char* BinaryName();
void SetBinaryName(const char* scenario);

// Counts a violation, keeps its message for the report, stops the run and
// prints the message at once (so a hung or killed run still says why).
void RecordViolation(SharedState* s, const char* text);

// In a forked helper (worker, janitor): leave SIGINT/SIGTERM/SIGHUP to the
// parent, which decides when the run stops; nothing blocked.
void ResetChildSignals();

}  // namespace shmconform::stress
