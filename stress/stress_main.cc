// StressMain: one run from the command line to the exit status. Parse the
// options, maybe skip, name the run's objects, start the janitor and the
// workers, supervise them, check, clean up, report.
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include "framework.h"
#include "janitor.h"
#include "options.h"
#include "report.h"
#include "run_objects.h"
#include "run_state.h"
#include "shmconform/errno_names.h"
#include "shmconform/unique_names.h"

namespace shmconform::stress {

// Sets up, runs and tears down one Run (a friend of Run: it fills in what
// the scenario's code may only read).
class RunDriver {
 public:
  RunDriver(const Config& config, const ScenarioDef& def) {
    run_.config_ = &config;
    run_.def_ = &def;
  }
  int Execute();

 private:
  std::string WhyCannotRun();
  int Skip(const std::string& why);
  bool MapSharedState();
  void NameRunObjects();
  void PrintStartup() const;
  void StartWorkers();
  [[noreturn]] void RunWorker(unsigned index);
  void Supervise();
  bool ReapWorker(unsigned index);
  void KillWorkersWhenDue();
  int Conclude(double seconds);

  Run run_;
  Janitor janitor_;
  sigset_t watched_{};  // the signals the parent takes only through sigtimedwait
  std::vector<bool> alive_;
  unsigned running_ = 0;
  int interrupted_ = 0;        // the signal that asked the run to stop, or 0
  std::uint64_t kill_at_ = 0;  // when the remaining workers get SIGKILL (0: not due)
  bool killed_by_us_ = false;
};

namespace {
constexpr std::uint64_t kSecondNs = 1'000'000'000ull;
constexpr std::uint64_t kHangAfterDeadlineNs = 10 * kSecondNs;
constexpr std::uint64_t kGraceAfterInterruptNs = 5 * kSecondNs;
constexpr std::uint64_t kGraceAfterCrashNs = 3 * kSecondNs;
}  // namespace

int RunDriver::Execute() {
  const std::string why = WhyCannotRun();
  if (!why.empty()) return Skip(why);
  if (!MapSharedState()) return kExitViolation;
  NameRunObjects();
  sigemptyset(&watched_);
  for (int sig : {SIGCHLD, SIGINT, SIGTERM, SIGHUP}) sigaddset(&watched_, sig);
  sigprocmask(SIG_BLOCK, &watched_, nullptr);
  if (!janitor_.Start(run_, run_.name_prefix_)) {
    std::fprintf(stderr, "%s: cannot start the janitor: %s\n", BinaryName(), DescribeErrno(errno).c_str());
    return kExitViolation;
  }
  PrintStartup();
  if (run_.def().setup && !run_.shared_->violations.load()) run_.def().setup(run_);
  const std::uint64_t start = MonotonicNs();
  const double duration_s = run_.config().duration_s;
  run_.shared_->deadline_ns = duration_s > 0 ? start + static_cast<std::uint64_t>(duration_s * 1e9) : 0;
  StartWorkers();
  Supervise();
  return Conclude(static_cast<double>(MonotonicNs() - start) / 1e9);
}

// The scenario's own reason, or no scratch directory for one that needs it.
// The directory is made here (support's TempDir) so the janitor knows it.
std::string RunDriver::WhyCannotRun() {
  if (run_.def().skip_reason) {
    std::string why = run_.def().skip_reason(run_.config());
    if (!why.empty()) return why;
  }
  auto scratch = TempDir::Create();
  if (scratch.ok()) {
    run_.scratch_ = std::move(scratch).take();
  } else if (run_.def().uses_files) {
    return "no writable scratch directory (" + scratch.Describe() + "); set SHMCONFORM_TMPDIR";
  }
  return "";
}

int RunDriver::Skip(const std::string& why) {
  Report(run_, 0, 0, why);
  std::fprintf(stderr, "%s: SKIP: %s\n", BinaryName(), why.c_str());
  return kExitSkip;
}

bool RunDriver::MapSharedState() {
  void* mem = mmap(nullptr, sizeof(SharedState), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    std::fprintf(stderr, "%s: cannot map the shared state: %s\n", BinaryName(), DescribeErrno(errno).c_str());
    return false;
  }
  run_.shared_ = static_cast<SharedState*>(mem);
  run_.shared_->parent_pid = getpid();
  return true;
}

void RunDriver::NameRunObjects() {
  run_.key_base_ = ChooseKeyBase();
  char prefix[128];
  std::snprintf(prefix, sizeof prefix, "shmconform.%s.stress-%d.", RunId().c_str(), static_cast<int>(getpid()));
  run_.name_prefix_ = prefix;
}

void RunDriver::PrintStartup() const {
  const auto base = static_cast<unsigned>(run_.key_base_);
  const std::string& scratch = run_.scratch_dir();
  std::fprintf(stderr, "%s: seed=%" PRIu64 " workers=%u sysv-keys=%#x-%#x shm-names=/%s* scratch=%s janitor=%d\n",
               BinaryName(), run_.config().seed, run_.config().workers, base, base + kKeySlots - 1,
               run_.name_prefix_.c_str(), scratch.empty() ? "none" : scratch.c_str(), static_cast<int>(janitor_.pid()));
}

void RunDriver::StartWorkers() {
  SharedState* shared = run_.shared_;
  for (unsigned i = 0; i < run_.config().workers && !shared->violations.load(); ++i) {
    const pid_t pid = fork();
    if (pid < 0) {
      run_.Fail("fork of worker %u failed with %s", i, ErrnoName(errno).c_str());
      break;
    }
    if (pid == 0) RunWorker(i);
    shared->worker_pids[i] = pid;
    alive_.push_back(true);
  }
  running_ = static_cast<unsigned>(alive_.size());
}

void RunDriver::RunWorker(unsigned index) {
  SharedState* shared = run_.shared_;
  // Recorded by the worker itself before it creates anything, so the
  // cleanup knows its objects even if the parent dies right after fork.
  shared->worker_pids[index] = getpid();
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != shared->parent_pid) _exit(kExitViolation);
  ResetChildSignals();
  Worker w(run_, index);
  run_.def().work(w);
  _exit(kExitClean);
}

// Reaps workers, turns crashes and hangs into violations, turns
// SIGINT/SIGTERM/SIGHUP into an orderly stop.
void RunDriver::Supervise() {
  while (running_) {
    const timespec tick{0, 100'000'000};
    siginfo_t si;
    const int sig = sigtimedwait(&watched_, &si, &tick);
    if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
      if (!interrupted_) interrupted_ = sig;
      run_.shared_->stop.store(1);
      if (!kill_at_) kill_at_ = MonotonicNs() + kGraceAfterInterruptNs;
    }
    for (unsigned i = 0; i < alive_.size(); ++i)
      if (alive_[i] && ReapWorker(i)) --running_;
    KillWorkersWhenDue();
  }
}

// True when worker `index` has ended (and is reaped); an unexpected ending
// is a violation.
bool RunDriver::ReapWorker(unsigned index) {
  SharedState* shared = run_.shared_;
  int status = 0;
  if (waitpid(shared->worker_pids[index], &status, WNOHANG) != shared->worker_pids[index]) return false;
  alive_[index] = false;
  const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == kExitClean;
  const bool reported = WIFEXITED(status) && WEXITSTATUS(status) == kExitViolation;
  if (!clean && !reported && !killed_by_us_) {
    run_.Fail("worker %u (pid %d) %s %s after %" PRIu64 " ops; its objects are removed by the parent", index,
              static_cast<int>(shared->worker_pids[index]), WIFSIGNALED(status) ? "was killed by" : "exited with",
              WIFSIGNALED(status) ? SignalName(WTERMSIG(status)).c_str() : std::to_string(WEXITSTATUS(status)).c_str(),
              shared->workers[index].ops);
  }
  if (!clean && !kill_at_) kill_at_ = MonotonicNs() + kGraceAfterCrashNs;
  return true;
}

void RunDriver::KillWorkersWhenDue() {
  const std::uint64_t now = MonotonicNs();
  const std::uint64_t deadline = run_.shared_->deadline_ns;
  if (running_ && deadline && now >= deadline + kHangAfterDeadlineNs && !kill_at_) {
    run_.Fail("%u worker(s) still running 10 s after the deadline (hung)", running_);
    kill_at_ = now;
  }
  if (running_ && kill_at_ && now >= kill_at_ && !killed_by_us_) {
    killed_by_us_ = true;
    for (unsigned i = 0; i < alive_.size(); ++i)
      if (alive_[i]) kill(run_.shared_->worker_pids[i], SIGKILL);
  }
}

// The scenario's final check, cleanup, the report and the exit status.
int RunDriver::Conclude(double seconds) {
  SharedState* shared = run_.shared_;
  if (!shared->violations.load() && !interrupted_ && run_.def().finish) run_.def().finish(run_);
  RemoveRunObjects(ObjectsOf(run_, run_.name_prefix_));
  run_.scratch_.reset();
  for (auto& [p, n] : run_.allocations_) munmap(p, n);
  janitor_.Dismiss();
  Report(run_, seconds, interrupted_, "");
  if (shared->violations.load()) return kExitViolation;
  if (interrupted_) return 128 + interrupted_;
  return kExitClean;
}

int StressMain(int argc, char** argv, const ScenarioDef& def) {
  SetBinaryName(def.name);
  if (argc >= 2 && std::strcmp(argv[1], "--exec-child") == 0 && def.exec_child) return def.exec_child(argc, argv);
  const Config config = ParseOptions(argc, argv, def);
  RunDriver driver(config, def);
  return driver.Execute();
}

}  // namespace shmconform::stress
