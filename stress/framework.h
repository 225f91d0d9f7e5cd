// The stress framework shared by every stress-<scenario> binary: options,
// worker processes, verification helpers, latency metrics, JSON output and
// cleanup of every object a run created (also after a crash or a signal).
//
// A scenario is a ScenarioDef: its operation names, options, injections, a
// parent-side setup, the worker body and a parent-side final check. Workers
// are forked processes; each gets a deterministic random stream derived from
// the seed and its index, so its sequence of chosen operations is
// reproducible. Any violation ends the run with exit 1 and a message naming
// the seed, the worker, its operation number and the failing call.
//
// This header is a scenario's one include. The framework's parts: rng.h,
// patterns.h, fault_probe.h, shared_lock.h (tools for scenarios); options,
// run_objects (naming and cleanup), janitor, report and stress_main.cc (the
// run itself); run_state.h (what the run's processes share).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "fault_probe.h"
#include "patterns.h"
#include "rng.h"
#include "shared_lock.h"
#include "shmconform/owners.h"

namespace shmconform::stress {

inline constexpr int kExitClean = 0;
inline constexpr int kExitViolation = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitSkip = 77;

inline constexpr unsigned kMaxWorkers = 256;
inline constexpr unsigned kMaxOpTypes = 12;
inline constexpr unsigned kKeySlots = 256;  // SysV keys per run: KeyFor(0..255)

// A scenario's numeric option, e.g. --size=64k (suffixes k, m, g allowed).
struct NumOption {
  const char* name;
  std::uint64_t default_value;
  std::uint64_t min;
  std::uint64_t max;
  const char* help;
};

struct Config {
  std::string scenario;   // "sysv-churn"
  double duration_s = 0;  // 0: no time limit (--ops given)
  std::uint64_t ops = 0;  // 0: no operation limit
  unsigned workers = 0;
  std::uint64_t seed = 0;
  bool json = false;
  std::string inject;                           // "" or one of ScenarioDef::injections
  std::map<std::string, std::uint64_t> values;  // scenario options
  std::uint64_t Value(const std::string& name) const { return values.at(name); }
  bool Injecting(const char* what) const { return inject == what; }
};

class Run;
class Worker;

struct ScenarioDef {
  const char* name;     // "sysv-churn"
  const char* summary;  // one line for --help
  std::vector<const char*> op_names;
  std::vector<const char*> injections;
  std::vector<NumOption> options;
  unsigned min_workers = 1;
  // Extra validation against the system's limits; returns an error line or "".
  std::function<std::string(const Config&)> validate;
  // Why this scenario cannot run here (no namespaces...), or "".
  std::function<std::string(const Config&)> skip_reason;
  // In the parent before the workers start (shared memory, the file...).
  std::function<void(Run&)> setup;
  // The body of each worker process.
  std::function<void(Worker&)> work;
  // In the parent after every worker ended cleanly: final exact checks.
  std::function<void(Run&)> finish;
  // A helper process mode: `binary --exec-child ARGS...` runs this instead.
  std::function<int(int argc, char** argv)> exec_child;
  // Needs the run's scratch directory (Run::scratch_dir); the run skips
  // where none can be made.
  bool uses_files = false;
};

// Runs the scenario: the whole main() of a stress binary.
int StressMain(int argc, char** argv, const ScenarioDef& def);

// State shared by the parent and all workers (a MAP_SHARED mapping made
// before fork). Scenario memory comes from Run::SharedAlloc.
struct SharedState;

// The parent's view of the run.
class Run {
 public:
  const Config& config() const { return *config_; }
  const ScenarioDef& def() const { return *def_; }
  // A run-unique SysV key: slot in [0, kKeySlots). Objects with these keys,
  // created by this run's processes, are removed at the end of the run.
  key_t KeyFor(unsigned slot) const;
  key_t key_base() const { return key_base_; }
  // "/shmconform.<run id>.<tag>": POSIX shm names removed at the end.
  std::string ShmName(const std::string& tag) const;
  // A directory for files under the suite's scratch directory (support's
  // TempDir), removed at the end; "" when none could be made (a scenario
  // with uses_files then skips before setup).
  const std::string& scratch_dir() const { return scratch_.path(); }
  // Zeroed memory shared with the workers; only during setup.
  void* SharedAlloc(std::size_t bytes);
  template <typename T>
  T* SharedArray(std::size_t n) {
    return static_cast<T*>(SharedAlloc(sizeof(T) * n));
  }
  // A violation found by the parent (setup or finish); the run exits 1.
  void Fail(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  // Per-scenario data the workers see (set in setup, inherited by fork).
  void* user = nullptr;
  SharedState* shared() const { return shared_; }
  std::vector<pid_t> WorkerPids() const;

 private:
  friend class RunDriver;  // stress_main.cc: sets the run up and tears it down
  const Config* config_ = nullptr;
  const ScenarioDef* def_ = nullptr;
  SharedState* shared_ = nullptr;
  key_t key_base_ = 0;
  std::string name_prefix_;
  TempDir scratch_;
  std::vector<std::pair<void*, std::size_t>> allocations_;
};

// A worker process's view: its index, random stream, budget and checks.
class Worker {
 public:
  Worker(Run& run, unsigned index);
  unsigned index() const { return index_; }
  Rng& rng() { return rng_; }
  const Config& config() const { return run_.config(); }
  Run& run() { return run_; }
  template <typename T>
  T* user() {
    return static_cast<T*>(run_.user);
  }

  // False once the run must end: time or operation budget spent, another
  // worker failed, or the parent was interrupted.
  bool Running();
  bool Stopping() const;
  // Times one verified operation: call Begin(op) before it, End() after.
  void Begin(unsigned op);
  void End();
  // A failure the model predicted (counted, for information).
  void ExpectedFailure();
  // fork() for a scenario's own child, which dies with this worker
  // (PR_SET_PDEATHSIG): 0 in the child, its pid here; a failed fork fails.
  pid_t ForkChild();
  std::uint64_t op_number() const { return op_number_; }

  // Ends the worker with exit 1 after recording a precise message.
  [[noreturn]] void Fail(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  // rv == -1 (or MAP_FAILED): Fail "<call> failed with EXXX, expected success".
  long CheckOk(long rv, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
  // Must fail with exactly `expected`.
  void CheckErrno(long rv, int expected, const char* fmt, ...) __attribute__((format(printf, 4, 5)));
  // Success, or failure with one of `allowed` (a legitimate race): returns
  // true on success, false on an allowed failure; any other errno fails.
  bool CheckOkOrErrno(long rv, std::initializer_list<int> allowed, const char* fmt, ...)
      __attribute__((format(printf, 4, 5)));

 private:
  [[noreturn]] void VFail(const char* fmt, va_list ap);
  Run& run_;
  unsigned index_;
  Rng rng_;
  std::uint64_t budget_ = 0;  // ops this worker may do (0: unlimited)
  std::uint64_t op_number_ = 0;
  unsigned current_op_ = 0;
  std::uint64_t begin_ns_ = 0;
  std::uint64_t now_ns_ = 0;
  std::uint64_t deadline_ns_ = 0;
};

std::uint64_t MonotonicNs();

// "" when `bytes` (described by `what`, e.g. "--segments x --size") fits in
// half the physical memory, else the error line for invalid options.
std::string CheckMemory(std::uint64_t bytes, const std::string& what);
// "" when a segment of `size` bytes is within kernel.shmmax (or it is
// unknown), else the error line for invalid options.
std::string CheckShmmax(std::uint64_t size);

}  // namespace shmconform::stress
