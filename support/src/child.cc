#include "shmconform/child.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <utility>

#include "shmconform/async_safe_text.h"
#include "shmconform/errno_names.h"

namespace shmconform {
namespace {

// One fixed-size record per event, written with a single write(2) of less
// than PIPE_BUF bytes, so it arrives whole.
struct Record {
  static constexpr std::uint32_t kMagic = 0x53484d43;  // "SHMC"
  enum Type : std::uint32_t { kFault = 1, kCheckFailed = 2 };
  std::uint32_t magic;
  std::uint32_t type;
  std::int32_t signo;
  std::int32_t si_code;
  std::uint64_t address;
  char text[232];
};
static_assert(sizeof(Record) <= PIPE_BUF);
// The longest report text a Record carries.
constexpr size_t kReportChars = sizeof(Record::text) - 1;

int g_report_fd = -1;
alignas(16) char g_alt_stack[64 * 1024];

void FaultRecorder(int sig, siginfo_t* info, void*) {
  Record r{};
  r.magic = Record::kMagic;
  r.type = Record::kFault;
  r.signo = sig;
  r.si_code = info->si_code;
  r.address = reinterpret_cast<std::uintptr_t>(info->si_addr);
  if (g_report_fd >= 0) (void)!write(g_report_fd, &r, sizeof r);
  // SA_RESETHAND restored the default action. A fault re-executes the access
  // on return and now kills the child with the same signal; a signal sent by
  // a process would not recur, so send it again.
  if (info->si_code <= 0) raise(sig);
}

std::string Hex(std::uintptr_t value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%#lx", static_cast<unsigned long>(value));
  return buf;
}

}  // namespace

void InstallChildRecorder(int report_fd) {
  g_report_fd = report_fd;
  stack_t ss{};
  ss.ss_sp = g_alt_stack;
  ss.ss_size = sizeof g_alt_stack;
  sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_sigaction = FaultRecorder;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE}) sigaction(sig, &sa, nullptr);
}

namespace {

// "file:line: " with the file's base name.
AsyncSafeText CheckLocation(const char* file, int line) {
  const char* base = strrchr(file, '/');
  AsyncSafeText text(base ? base + 1 : file);
  text.Append(":").AppendDecimal(line).Append(": ");
  return text;
}

// "got EINVAL" for a failed call, "got success (returned 3)" otherwise.
void AppendActualResult(AsyncSafeText& text, long result, int err) {
  if (result == -1L) {
    text.Append("got ").AppendErrnoName(err);
  } else {
    text.Append("got success (returned ").AppendDecimal(result).Append(")");
  }
}

}  // namespace

void ChildCheckReport(const char* text) {
  Record r{};
  r.magic = Record::kMagic;
  r.type = Record::kCheckFailed;
  strncpy(r.text, text, sizeof r.text - 1);
  if (g_report_fd >= 0) (void)!write(g_report_fd, &r, sizeof r);
  _exit(kChildCheckFailedExit);
}

void ChildCheckFailed(const char* file, int line, const char* what) {
  ChildCheckReport(CheckLocation(file, line).Append(what).c_str());
}

void ChildCheckSuccessFailed(const char* file, int line, const char* call, int err) {
  AsyncSafeText text = CheckLocation(file, line);
  text.Append(call).Append(": expected success, got ").AppendErrnoName(err);
  ChildCheckReport(text.c_str());
}

void ChildCheckErrnoFailed(const char* file, int line, const char* call, int expected_errno, long result, int err) {
  AsyncSafeText text = CheckLocation(file, line);
  text.Append(call).Append(": expected failure with ").AppendErrnoName(expected_errno).Append(", ");
  AppendActualResult(text, result, err);
  ChildCheckReport(text.c_str());
}

void ChildCheckEqFailed(const char* file, int line, const char* actual_text, const char* expected_text,
                        long long actual, long long expected) {
  AsyncSafeText text = CheckLocation(file, line);
  text.Append(actual_text).Append(" == ").Append(expected_text).Append(": expected ").AppendDecimal(expected);
  text.Append(", got ").AppendDecimal(actual);
  ChildCheckReport(text.c_str());
}

namespace child_check {
namespace {

void AppendHex(AsyncSafeText& text, unsigned long long value) {
  char digits[19] = "0x";
  int n = 2;
  int shift = 60;
  while (shift > 0 && (value >> shift & 0xf) == 0) shift -= 4;
  for (; shift >= 0; shift -= 4) digits[n++] = "0123456789abcdef"[value >> shift & 0xf];
  digits[n] = '\0';
  text.Append(digits);
}

void AppendValue(AsyncSafeText& text, const Value& value) {
  switch (value.kind) {
    case Value::Kind::kSigned: text.AppendDecimal(static_cast<long long>(value.bits)); break;
    case Value::Kind::kUnsigned: text.AppendUnsigned(value.bits); break;
    case Value::Kind::kChar:
      // 's' when printable, else its code: a NUL byte reads 0, not ''.
      if (value.bits >= 0x20 && value.bits < 0x7f && value.bits != '\'' && value.bits != '\\') {
        const char quoted[] = {'\'', static_cast<char>(value.bits), '\'', '\0'};
        text.Append(quoted);
      } else {
        text.AppendUnsigned(value.bits);
      }
      break;
    case Value::Kind::kBool: text.Append(value.bits ? "true" : "false"); break;
    case Value::Kind::kPointer: AppendHex(text, value.bits); break;
    case Value::Kind::kNone: break;
  }
}

}  // namespace

void ComparisonFailed(const char* file, int line, const char* what, const Comparison& comparison) {
  if (comparison.left.kind == Value::Kind::kNone || comparison.right.kind == Value::Kind::kNone)
    ChildCheckFailed(file, line, what);
  AsyncSafeText values(": ");
  AppendValue(values, comparison.left);
  values.Append(" ").Append(comparison.op).Append(" ");
  AppendValue(values, comparison.right);
  values.Append(" is false");
  // The report holds kReportChars: a long expression is shortened so that
  // the values, which say what went wrong, always arrive.
  AsyncSafeText text = CheckLocation(file, line);
  const size_t room = kReportChars - std::min(kReportChars, text.size() + values.size());
  if (strlen(what) <= room) {
    text.Append(what);
  } else if (room > 3) {
    char clipped[AsyncSafeText::kCapacity];
    const size_t keep = std::min(room - 3, sizeof clipped - 1);
    memcpy(clipped, what, keep);
    clipped[keep] = '\0';
    text.Append(clipped).Append("...");
  }
  text.Append(values.c_str());
  ChildCheckReport(text.c_str());
}

}  // namespace child_check

ChildOutcome WaitForChild(pid_t pid, int report_fd) {
  ChildOutcome outcome;
  int status = 0;
  pid_t waited;
  while ((waited = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  if (waited < 0) {
    const int wait_errno = errno;
    close(report_fd);
    outcome.exit_code = -1;
    outcome.check_failure = "waitpid(" + std::to_string(pid) + ") failed: " + DescribeErrno(wait_errno);
    return outcome;
  }
  if (WIFSIGNALED(status)) {
    outcome.ending = ChildOutcome::Ending::kKilled;
    outcome.signal = WTERMSIG(status);
  } else {
    outcome.exit_code = WEXITSTATUS(status);
  }
  // The child is gone, so everything it wrote is in the pipe; grandchildren
  // may still hold the write end, so never wait for end-of-file.
  fcntl(report_fd, F_SETFL, fcntl(report_fd, F_GETFL) | O_NONBLOCK);
  Record r;
  while (read(report_fd, &r, sizeof r) == static_cast<ssize_t>(sizeof r)) {
    if (r.magic != Record::kMagic) break;
    if (r.type == Record::kFault && !outcome.has_siginfo) {
      outcome.has_siginfo = true;
      outcome.si_code = r.si_code;
      outcome.fault_address = r.address;
      if (!outcome.killed()) outcome.signal = r.signo;
    } else if (r.type == Record::kCheckFailed) {
      r.text[sizeof r.text - 1] = '\0';
      outcome.check_failure = r.text;
    }
  }
  close(report_fd);
  return outcome;
}

ChildOutcome RunInChild(const std::function<void()>& body) { return AsyncChild::Start(body).Wait(); }

AsyncChild AsyncChild::Start(const std::function<void()>& body) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return AsyncChild(-1, -1, "pipe2 failed: " + DescribeErrno(errno));
  // Buffered output would otherwise be written twice, once by each process.
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    InstallChildRecorder(fds[1]);
    body();
    _exit(0);
  }
  const int fork_errno = errno;
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return AsyncChild(-1, -1, "fork failed: " + DescribeErrno(fork_errno));
  }
  return AsyncChild(pid, fds[0]);
}

AsyncChild::AsyncChild(AsyncChild&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      report_fd_(std::exchange(other.report_fd_, -1)),
      start_error_(std::move(other.start_error_)) {}

AsyncChild::~AsyncChild() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    Wait();
  }
}

ChildOutcome AsyncChild::Wait() {
  if (pid_ <= 0) {
    ChildOutcome failed;
    failed.exit_code = -1;
    failed.check_failure = "the child was never started: " + start_error_;
    return failed;
  }
  const ChildOutcome outcome = WaitForChild(std::exchange(pid_, -1), std::exchange(report_fd_, -1));
  return outcome;
}

Notification::Notification() {
  if (pipe2(fds_, O_CLOEXEC) != 0) fds_[0] = fds_[1] = -1;
}

Notification::~Notification() {
  for (int fd : fds_)
    if (fd >= 0) close(fd);
}

void Notification::Notify() {
  const char byte = 1;
  (void)!write(fds_[1], &byte, 1);
}

bool Notification::WaitForNotification() {
  // Our own write end would keep the pipe open forever: a waiter never
  // notifies through this object, so close it first.
  if (fds_[1] >= 0) {
    close(fds_[1]);
    fds_[1] = -1;
  }
  char byte = 0;
  for (;;) {
    const ssize_t n = read(fds_[0], &byte, 1);
    if (n == 1) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

std::string ChildOutcome::Describe() const {
  std::ostringstream os;
  if (killed()) {
    os << "killed by " << SignalName(signal);
    if (has_siginfo) os << " (" << SiCodeName(signal, si_code) << " at " << Hex(fault_address) << ")";
  } else {
    os << "exited with code " << exit_code;
    if (has_siginfo) {
      os << " after catching " << SignalName(signal) << " (" << SiCodeName(signal, si_code) << " at "
         << Hex(fault_address) << ")";
    }
  }
  if (!check_failure.empty()) os << "; child check failed: " << check_failure;
  return os.str();
}

void PrintTo(const ChildOutcome& outcome, std::ostream* os) { *os << outcome.Describe(); }

namespace {

class OutcomeMatcher : public ::testing::MatcherInterface<const ChildOutcome&> {
 public:
  OutcomeMatcher(std::string description, std::function<bool(const ChildOutcome&)> pred)
      : description_(std::move(description)), pred_(std::move(pred)) {}
  // PrintTo already shows the outcome as "Actual:", so no explanation.
  bool MatchAndExplain(const ChildOutcome& outcome, ::testing::MatchResultListener*) const override {
    return pred_(outcome);
  }
  void DescribeTo(std::ostream* os) const override { *os << description_; }
  void DescribeNegationTo(std::ostream* os) const override { *os << "not " << description_; }

 private:
  std::string description_;
  std::function<bool(const ChildOutcome&)> pred_;
};

}  // namespace

::testing::Matcher<const ChildOutcome&> ExitedWithCode(int code) {
  return ::testing::MakeMatcher(
      new OutcomeMatcher("exited with code " + std::to_string(code),
                         [code](const ChildOutcome& o) { return o.exited() && o.exit_code == code; }));
}

::testing::Matcher<const ChildOutcome&> KilledBySignal(int signal) {
  return ::testing::MakeMatcher(new OutcomeMatcher(
      "killed by " + SignalName(signal), [signal](const ChildOutcome& o) { return o.killed() && o.signal == signal; }));
}

::testing::Matcher<const ChildOutcome&> FaultedWith(int signal, int si_code) {
  return ::testing::MakeMatcher(
      new OutcomeMatcher("killed by " + SignalName(signal) + " with " + SiCodeName(signal, si_code),
                         [signal, si_code](const ChildOutcome& o) {
                           return o.killed() && o.signal == signal && o.has_siginfo && o.si_code == si_code;
                         }));
}

::testing::Matcher<const ChildOutcome&> FaultedWith(int signal, int si_code, const volatile void* address) {
  const auto addr = reinterpret_cast<std::uintptr_t>(address);
  return ::testing::MakeMatcher(new OutcomeMatcher(
      "killed by " + SignalName(signal) + " with " + SiCodeName(signal, si_code) + " at " + Hex(addr),
      [signal, si_code, addr](const ChildOutcome& o) {
        return o.killed() && o.signal == signal && o.has_siginfo && o.si_code == si_code && o.fault_address == addr;
      }));
}

}  // namespace shmconform
