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
#include <type_traits>

#include <gmock/gmock.h>

namespace shmconform {

struct ChildOutcome {
  enum class Ending { kExited, kKilled };
  Ending ending = Ending::kExited;
  int exit_code = 0;         // kExited
  int signal = 0;            // kKilled: the signal that ended the child
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
[[noreturn]] void ChildCheckErrnoFailed(const char* file, int line, const char* call, int expected_errno, long result,
                                        int err);
[[noreturn]] void ChildCheckEqFailed(const char* file, int line, const char* actual_text, const char* expected_text,
                                     long long actual, long long expected);

// CHILD_CHECK(cond) takes `cond` apart: `Decomposer{} <= a == b` parses as
// `(Decomposer{} <= a) == b`, so the left operand is captured (an Operand) and
// its comparison operators record both values (a Comparison). A top-level
// && or || (or ?:) binds more loosely than ==, so such a condition is evaluated
// by the built-in operator, short-circuit intact, and reported as text only.
namespace child_check {

// An operand's value as a failure report prints it; kNone: not printable
// (a class, a floating-point number, an integer wider than 64 bits).
struct Value {
  enum class Kind : unsigned char { kNone, kSigned, kUnsigned, kChar, kBool, kPointer };
  Kind kind = Kind::kNone;
  unsigned long long bits = 0;
};

template <class T>
Value ValueOf(const T& value) {
  using Plain = std::remove_cv_t<T>;
  if constexpr (std::is_enum_v<Plain>) {
    return ValueOf(static_cast<std::underlying_type_t<Plain>>(value));
  } else if constexpr (std::is_same_v<Plain, bool>) {
    return {Value::Kind::kBool, value ? 1ull : 0ull};
  } else if constexpr (std::is_same_v<Plain, char>) {
    return {Value::Kind::kChar, static_cast<unsigned char>(value)};
  } else if constexpr (std::is_integral_v<Plain> && sizeof(Plain) <= sizeof(long long)) {
    if constexpr (std::is_signed_v<Plain>) {
      return {Value::Kind::kSigned, static_cast<unsigned long long>(static_cast<long long>(value))};
    } else {
      return {Value::Kind::kUnsigned, static_cast<unsigned long long>(value)};
    }
  } else if constexpr (std::is_pointer_v<Plain>) {
    return {Value::Kind::kPointer, reinterpret_cast<std::uintptr_t>(value)};
  } else if constexpr (std::is_null_pointer_v<Plain>) {
    return {Value::Kind::kPointer, 0};
  } else {
    return {};
  }
}

// A comparison's outcome with both values and the operator.
struct Comparison {
  bool holds;
  Value left;
  const char* op;
  Value right;
  explicit operator bool() const { return holds; }
};

// A scalar is taken by value: read once (even if volatile), and a constexpr
// local used in a lambda without capture stays usable (binding a reference
// would odr-use it). Anything else is taken by reference: it lives until the
// end of the full expression, which is as long as the check needs it.
template <class T>
inline constexpr bool kByValue = std::is_scalar_v<T>;

// The captured left operand.
template <class T>
class Operand {
 public:
  explicit Operand(const T& value) : value_(value) {}
  explicit operator bool() const { return static_cast<bool>(value_); }

// Each comparison is the one the condition wrote, with the usual arithmetic
// conversions; a mixed-sign warning here could not point at the check that
// caused it, so it is silenced.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#define SHMCONFORM_CHILD_CHECK_OPERATOR(op)                                            \
  template <class U>                                                                   \
  requires kByValue<U> Comparison operator op(U right) const {                         \
    return {static_cast<bool>(value_ op right), ValueOf(value_), #op, ValueOf(right)}; \
  }                                                                                    \
  template <class U>                                                                   \
  requires(!kByValue<U>) Comparison operator op(const U& right) const {                \
    return {static_cast<bool>(value_ op right), ValueOf(value_), #op, ValueOf(right)}; \
  }
  SHMCONFORM_CHILD_CHECK_OPERATOR(==)
  SHMCONFORM_CHILD_CHECK_OPERATOR(!=)
  SHMCONFORM_CHILD_CHECK_OPERATOR(<)
  SHMCONFORM_CHILD_CHECK_OPERATOR(<=)
  SHMCONFORM_CHILD_CHECK_OPERATOR(>)
  SHMCONFORM_CHILD_CHECK_OPERATOR(>=)
#undef SHMCONFORM_CHILD_CHECK_OPERATOR
#pragma GCC diagnostic pop

 private:
  std::conditional_t<kByValue<T>, T, const T&> value_;
};

struct Decomposer {};

template <class T>
requires kByValue<T> Operand<T>
operator<=(Decomposer, T value) { return Operand<T>(value); }
template <class T>
requires(!kByValue<T>) Operand<T>
operator<=(Decomposer, const T& value) { return Operand<T>(value); }

// "file:line: ds.shm_nattch == 2: 1 == 2 is false"; the expression alone
// when a value cannot be printed.
[[noreturn]] void ComparisonFailed(const char* file, int line, const char* what, const Comparison& comparison);

inline void Verify(const Comparison& comparison, const char* file, int line, const char* what) {
  if (!comparison) ComparisonFailed(file, line, what, comparison);
}
// A single operand (CHILD_CHECK(ok)), or a condition joined by && or ||:
// the expression is the report.
template <class T>
void Verify(const Operand<T>& operand, const char* file, int line, const char* what) {
  if (!operand) ChildCheckFailed(file, line, what);
}
inline void Verify(bool holds, const char* file, int line, const char* what) {
  if (!holds) ChildCheckFailed(file, line, what);
}

}  // namespace child_check

// Matchers on a ChildOutcome.
::testing::Matcher<const ChildOutcome&> ExitedWithCode(int code);
::testing::Matcher<const ChildOutcome&> KilledBySignal(int signal);
// Killed by a fault signal with this si_code, optionally at this address.
::testing::Matcher<const ChildOutcome&> FaultedWith(int signal, int si_code);
::testing::Matcher<const ChildOutcome&> FaultedWith(int signal, int si_code, const volatile void* address);

}  // namespace shmconform

// Check a condition in a forked child; on failure the child exits and the
// parent's outcome carries "file:line: condition", with the operands' values
// when the condition is one comparison of integers, enums, bools or pointers:
// "file:line: st.shm_nattch == 2: 1 == 2 is false". A condition joined by
// && or || is reported as its text only. (The missing parentheses around
// `cond` are what lets it be taken apart: see child_check above.)
#define CHILD_CHECK(cond)                                                                     \
  do {                                                                                        \
    _Pragma("GCC diagnostic push")                                                            \
        _Pragma("GCC diagnostic ignored \"-Wparentheses\"")::shmconform::child_check::Verify( \
            ::shmconform::child_check::Decomposer{} <= cond, __FILE__, __LINE__, #cond);      \
    _Pragma("GCC diagnostic pop")                                                             \
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
#define CHILD_CHECK_SUCCESS(call)                                                                     \
  do {                                                                                                \
    errno = 0;                                                                                        \
    if ((long)(call) == -1L) ::shmconform::ChildCheckSuccessFailed(__FILE__, __LINE__, #call, errno); \
  } while (0)

// Check that a call failed with exactly this errno:
// "call: expected failure with EACCES, got EINVAL" (or "got success (returned 3)").
#define CHILD_CHECK_ERRNO(call, expected_errno)                                                                  \
  do {                                                                                                           \
    errno = 0;                                                                                                   \
    const long shmconform_rv_ = (long)(call);                                                                    \
    const int shmconform_errno_ = errno;                                                                         \
    const int shmconform_expected_errno_ = (expected_errno);                                                     \
    if (shmconform_rv_ != -1L || shmconform_errno_ != shmconform_expected_errno_)                                \
      ::shmconform::ChildCheckErrnoFailed(__FILE__, __LINE__, #call, shmconform_expected_errno_, shmconform_rv_, \
                                          shmconform_errno_);                                                    \
  } while (0)

// For table rows whose expected_errno 0 means "succeeds": checks the call
// succeeded (expected_errno 0) or failed with exactly expected_errno, and
// evaluates to its result as a long (-1 on the expected failure).
#define CHILD_CHECK_RESULT(call, expected_errno)                                                                       \
  ({                                                                                                                   \
    errno = 0;                                                                                                         \
    const long shmconform_rv_ = (long)(call);                                                                          \
    const int shmconform_errno_ = errno;                                                                               \
    const int shmconform_expected_errno_ = (expected_errno);                                                           \
    if (shmconform_expected_errno_ == 0 && shmconform_rv_ == -1L)                                                      \
      ::shmconform::ChildCheckSuccessFailed(__FILE__, __LINE__, #call, shmconform_errno_);                             \
    if (shmconform_expected_errno_ != 0 && (shmconform_rv_ != -1L || shmconform_errno_ != shmconform_expected_errno_)) \
      ::shmconform::ChildCheckErrnoFailed(__FILE__, __LINE__, #call, shmconform_expected_errno_, shmconform_rv_,       \
                                          shmconform_errno_);                                                          \
    shmconform_rv_;                                                                                                    \
  })
