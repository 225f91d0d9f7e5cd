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

// Async-signal-safe failure report from a child: records the message and exits
// with kChildCheckFailedExit.
[[noreturn]] void ChildCheckFailed(const char* file, int line, const char* what, int err);

// Matchers on a ChildOutcome.
::testing::Matcher<const ChildOutcome&> ExitedWithCode(int code);
::testing::Matcher<const ChildOutcome&> KilledBySignal(int signal);
// Killed by a fault signal with this si_code, optionally at this address.
::testing::Matcher<const ChildOutcome&> FaultedWith(int signal, int si_code);
::testing::Matcher<const ChildOutcome&> FaultedWith(int signal, int si_code, const volatile void* address);

}  // namespace shmconform

// Check a condition in a forked child; on failure the child exits and the
// parent's outcome carries "file:line: condition".
#define CHILD_CHECK(cond)                                              \
  do {                                                                 \
    if (!(cond)) ::shmconform::ChildCheckFailed(__FILE__, __LINE__, #cond, 0); \
  } while (0)

// Check that a call returning -1 / (void*)-1 on failure succeeded; the report
// includes errno.
#define CHILD_CHECK_SUCCESS(call)                                               \
  do {                                                                          \
    errno = 0;                                                                  \
    if ((long)(call) == -1L)                                                    \
      ::shmconform::ChildCheckFailed(__FILE__, __LINE__, #call, errno);         \
  } while (0)

// Check that a call failed with exactly this errno.
#define CHILD_CHECK_ERRNO(call, expected_errno)                                 \
  do {                                                                          \
    errno = 0;                                                                  \
    long shmconform_rv_ = (long)(call);                                         \
    if (shmconform_rv_ != -1L || errno != (expected_errno))                     \
      ::shmconform::ChildCheckFailed(__FILE__, __LINE__, #call " fails with " #expected_errno, \
                                     shmconform_rv_ == -1L ? errno : 0);        \
  } while (0)
