// Runs a function in a forked child and reports exactly how the child ended:
// its exit code, or the signal that killed it together with the si_code and
// fault address the kernel delivered (SEGV_MAPERR vs SEGV_ACCERR, BUS_ADRERR).
//
// The body runs after fork() in a copy of the test process: it must use only
// async-signal-safe calls and the CHILD_CHECK macros below, never gtest
// assertions. Returning from the body exits the child with status 0.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

#include <gmock/gmock.h>

namespace shmconform {

struct ChildOutcome {
  enum class Ending { kExited, kKilled };
  Ending ending = Ending::kExited;
  int exit_code = 0;       // kExited
  int signal = 0;          // kKilled: the signal that ended the child
  bool has_siginfo = false;  // a fault signal reached the child's recorder
  int si_code = 0;
  std::uintptr_t fault_address = 0;
  std::string check_failure;  // "file:line: expression" from CHILD_CHECK

  bool exited() const { return ending == Ending::kExited; }
  bool killed() const { return ending == Ending::kKilled; }
  std::string Describe() const;
};
void PrintTo(const ChildOutcome& outcome, std::ostream* os);

// The exit code a child uses when a CHILD_CHECK fails.
inline constexpr int kChildCheckFailedExit = 99;

ChildOutcome RunInChild(const std::function<void()>& body);

// A child that runs concurrently with the test: Start returns at once, Wait
// gives the outcome. A child never waited for is killed and reaped.
class AsyncChild {
 public:
  static AsyncChild Start(const std::function<void()>& body);
  AsyncChild(AsyncChild&& other) noexcept;
  AsyncChild& operator=(AsyncChild&&) = delete;
  ~AsyncChild();
  pid_t pid() const { return pid_; }
  ChildOutcome Wait();

 private:
  AsyncChild(pid_t pid, int report_fd, std::string start_error = {})
      : pid_(pid), report_fd_(report_fd), start_error_(std::move(start_error)) {}
  pid_t pid_ = -1;
  int report_fd_ = -1;
  std::string start_error_;  // why the child never started, if it did not
};

// A one-shot event between processes (a pipe): made before fork, Notify()
// in one process releases WaitForNotification() in another. Async-signal-safe.
class Notification {
 public:
  Notification();
  ~Notification();
  Notification(const Notification&) = delete;
  Notification& operator=(const Notification&) = delete;
  void Notify();
  // False if every writer closed without notifying (the other side died).
  bool WaitForNotification();

 private:
  int fds_[2] = {-1, -1};
};

// Waits for a child forked elsewhere (e.g. by RunAsUser) whose recorder
// writes to `report_fd`; closes report_fd.
ChildOutcome WaitForChild(pid_t pid, int report_fd);

// For code that forks itself: installs, in the current (child) process, the
// recorder that reports fault signals and check failures to `report_fd`.
void InstallChildRecorder(int report_fd);

// Async-signal-safe failure reports from a child, used by the CHILD_CHECK
// macros: each records "file:line: <what was checked>: expected ..., got ..."
// with errno values by name, and exits with kChildCheckFailedExit.
[[noreturn]] void ChildCheckReport(const char* text);
[[noreturn]] void ChildCheckFailed(const char* file, int line, const char* what);
[[noreturn]] void ChildCheckSuccessFailed(const char* file, int line, const char* call, int err);
[[noreturn]] void ChildCheckErrnoFailed(const char* file, int line, const char* call, int expected_errno,
                                        long result, int err);
[[noreturn]] void ChildCheckEqFailed(const char* file, int line, const char* actual_text, const char* expected_text,
                                     long long actual, long long expected);

// Matchers on a ChildOutcome.
::testing::Matcher<const ChildOutcome&> ExitedWithCode(int code);
::testing::Matcher<const ChildOutcome&> KilledBySignal(int signal);
// Killed by a fault signal with this si_code, optionally at this address.
::testing::Matcher<const ChildOutcome&> FaultedWith(int signal, int si_code);
::testing::Matcher<const ChildOutcome&> FaultedWith(int signal, int si_code, const volatile void* address);

}  // namespace shmconform

// Check a condition in a forked child; on failure the child exits and the
// parent's outcome carries "file:line: condition". Prefer the checks below,
// which say what was expected and what came.
#define CHILD_CHECK(cond)                                                  \
  do {                                                                     \
    if (!(cond)) ::shmconform::ChildCheckFailed(__FILE__, __LINE__, #cond); \
  } while (0)

// Check that two integers are equal: "actual == expected: expected 3, got 4".
#define CHILD_CHECK_EQ(actual, expected)                                                           \
  do {                                                                                             \
    const long long shmconform_actual_ = static_cast<long long>(actual);                           \
    const long long shmconform_expected_ = static_cast<long long>(expected);                       \
    if (shmconform_actual_ != shmconform_expected_)                                                \
      ::shmconform::ChildCheckEqFailed(__FILE__, __LINE__, #actual, #expected, shmconform_actual_, \
                                       shmconform_expected_);                                      \
  } while (0)

// Check that a call returning -1 / (void*)-1 on failure succeeded:
// "call: expected success, got EACCES".
#define CHILD_CHECK_SUCCESS(call)                                                 \
  do {                                                                            \
    errno = 0;                                                                    \
    if ((long)(call) == -1L) ::shmconform::ChildCheckSuccessFailed(__FILE__, __LINE__, #call, errno); \
  } while (0)

// Check that a call failed with exactly this errno:
// "call: expected failure with EACCES, got EINVAL" (or "got success (returned 3)").
#define CHILD_CHECK_ERRNO(call, expected_errno)                                                  \
  do {                                                                                           \
    errno = 0;                                                                                   \
    const long shmconform_rv_ = (long)(call);                                                    \
    const int shmconform_errno_ = errno;                                                         \
    const int shmconform_expected_errno_ = (expected_errno);                                     \
    if (shmconform_rv_ != -1L || shmconform_errno_ != shmconform_expected_errno_)                \
      ::shmconform::ChildCheckErrnoFailed(__FILE__, __LINE__, #call, shmconform_expected_errno_, \
                                          shmconform_rv_, shmconform_errno_);                    \
  } while (0)

// For table rows whose expected_errno 0 means "succeeds": checks the call
// succeeded (expected_errno 0) or failed with exactly expected_errno, and
// evaluates to its result as a long (-1 on the expected failure).
#define CHILD_CHECK_RESULT(call, expected_errno)                                                   \
  ({                                                                                               \
    errno = 0;                                                                                     \
    const long shmconform_rv_ = (long)(call);                                                      \
    const int shmconform_errno_ = errno;                                                           \
    const int shmconform_expected_errno_ = (expected_errno);                                       \
    if (shmconform_expected_errno_ == 0 && shmconform_rv_ == -1L)                                  \
      ::shmconform::ChildCheckSuccessFailed(__FILE__, __LINE__, #call, shmconform_errno_);         \
    if (shmconform_expected_errno_ != 0 &&                                                         \
        (shmconform_rv_ != -1L || shmconform_errno_ != shmconform_expected_errno_))                \
      ::shmconform::ChildCheckErrnoFailed(__FILE__, __LINE__, #call, shmconform_expected_errno_,   \
                                          shmconform_rv_, shmconform_errno_);                      \
    shmconform_rv_;                                                                                \
  })
