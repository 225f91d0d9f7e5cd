// A worker process's view of a run (Worker): its budget, its latency
// records and the checks that turn a wrong result into a violation.
#include <signal.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>

#include "framework.h"
#include "run_state.h"
#include "shmconform/errno_names.h"

namespace shmconform::stress {

std::uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

Worker::Worker(Run& run, unsigned index)
    : run_(run), index_(index), rng_(Mix64(run.config().seed) ^ Mix64(0x5743ull + index)) {
  const Config& c = run.config();
  if (c.ops) budget_ = c.ops / c.workers + (index < c.ops % c.workers ? 1 : 0);
  deadline_ns_ = run.shared()->deadline_ns;
}

bool Worker::Stopping() const { return run_.shared()->stop.load(std::memory_order_relaxed) != 0; }

bool Worker::Running() {
  if (Stopping()) return false;
  if (budget_ && op_number_ >= budget_) return false;
  if (deadline_ns_) {
    if (!now_ns_) now_ns_ = MonotonicNs();
    if (now_ns_ >= deadline_ns_) return false;
  }
  return true;
}

void Worker::Begin(unsigned op) {
  current_op_ = op;
  begin_ns_ = MonotonicNs();
}

void Worker::End() {
  now_ns_ = MonotonicNs();
  WorkerStats& st = run_.shared()->workers[index_];
  st.hist[current_op_][BucketOf(now_ns_ - begin_ns_)]++;
  st.ops++;
  op_number_++;
}

void Worker::ExpectedFailure() { run_.shared()->workers[index_].expected_failures++; }

pid_t Worker::ForkChild() {
  const pid_t pid = fork();
  CheckOk(pid, "fork()");
  if (pid == 0) prctl(PR_SET_PDEATHSIG, SIGKILL);
  return pid;
}

void Worker::VFail(const char* fmt, va_list ap) {
  char msg[kMessageLen - 160];
  std::vsnprintf(msg, sizeof msg, fmt, ap);
  char text[kMessageLen];
  const auto& names = run_.def().op_names;
  std::snprintf(text, sizeof text, "%s: VIOLATION seed=%" PRIu64 " worker=%u op#%" PRIu64 " (%s): %s", BinaryName(),
                run_.config().seed, index_, op_number_, current_op_ < names.size() ? names[current_op_] : "?", msg);
  RecordViolation(run_.shared(), text);
  _exit(kExitViolation);
}

void Worker::Fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  VFail(fmt, ap);
}

namespace {
std::string Format(const char* fmt, va_list ap) {
  char buf[400];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  return buf;
}
}  // namespace

long Worker::CheckOk(long rv, const char* fmt, ...) {
  if (rv != -1) return rv;
  const int err = errno;
  va_list ap;
  va_start(ap, fmt);
  const std::string call = Format(fmt, ap);
  va_end(ap);
  Fail("%s failed with %s, expected success", call.c_str(), ErrnoName(err).c_str());
}

void Worker::CheckErrno(long rv, int expected, const char* fmt, ...) {
  const int err = errno;
  if (rv == -1 && err == expected) {
    ExpectedFailure();
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  const std::string call = Format(fmt, ap);
  va_end(ap);
  if (rv != -1)
    Fail("%s succeeded (returned %ld), expected failure with %s", call.c_str(), rv, ErrnoName(expected).c_str());
  Fail("%s failed with %s, expected %s", call.c_str(), ErrnoName(err).c_str(), ErrnoName(expected).c_str());
}

bool Worker::CheckOkOrErrno(long rv, std::initializer_list<int> allowed, const char* fmt, ...) {
  if (rv != -1) return true;
  const int err = errno;
  if (std::find(allowed.begin(), allowed.end(), err) != allowed.end()) {
    ExpectedFailure();
    return false;
  }
  va_list ap;
  va_start(ap, fmt);
  const std::string call = Format(fmt, ap);
  va_end(ap);
  std::string names;
  for (int e : allowed) names += (names.empty() ? "" : " or ") + ErrnoName(e);
  Fail("%s failed with %s, expected success or %s", call.c_str(), ErrnoName(err).c_str(), names.c_str());
}

}  // namespace shmconform::stress
