#include "bench_util.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "shmconform/errno_names.h"
#include "shmconform/system_info.h"

namespace shmconform::bench {

Peer Peer::Start(const std::function<void()>& body) {
  const pid_t parent = getpid();
  return Peer(AsyncChild::Start([&] {
    // A benchmark killed halfway must not leave its peer spinning.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    body();
  }));
}

bool Peer::Alive() const {
  if (child_.pid() <= 0) return false;
  siginfo_t info{};
  if (waitid(P_PID, child_.pid(), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
  return info.si_pid == 0;
}

std::string Peer::Finish() {
  if (!started()) return "fork failed";
  const ChildOutcome outcome = child_.Wait();
  if (outcome.exited() && outcome.exit_code == 0) return "";
  return "peer process: " + outcome.Describe();
}

std::string Peer::Diagnose() {
  // End-of-file or EPIPE arrive while the peer is still exiting: give it a
  // moment (this is the error path only) so its outcome can be reported.
  for (int i = 0; i < 1000 && Alive(); ++i) {
    struct timespec ms = {0, 1'000'000};
    nanosleep(&ms, nullptr);
  }
  if (Alive()) return "the peer process is still running";
  const std::string failure = Finish();
  return failure.empty() ? "the peer process exited early with status 0" : failure;
}

namespace {

std::optional<Mapping> Prefaulted(std::size_t length, int flags) {
  auto mapping = Mapping::Anonymous(length, PROT_READ | PROT_WRITE, flags);
  if (!mapping.ok()) return std::nullopt;
  Mapping m = std::move(mapping).take();
  WriteEveryPage(m.bytes(), m.length(), 1);
  return m;
}

}  // namespace

std::optional<Mapping> SharedMemory(std::size_t length) { return Prefaulted(length, MAP_SHARED); }
std::optional<Mapping> PrivateMemory(std::size_t length) { return Prefaulted(length, MAP_PRIVATE); }

std::uint64_t ReadEveryPage(const volatile char* p, std::size_t length) {
  const std::size_t page = PageSize();
  std::uint64_t sum = 0;
  for (std::size_t off = 0; off < length; off += page) sum += static_cast<unsigned char>(p[off]);
  return sum;
}

void WriteEveryPage(volatile char* p, std::size_t length, char value) {
  const std::size_t page = PageSize();
  for (std::size_t off = 0; off < length; off += page) p[off] = value;
}

void SetPageCounters(benchmark::State& state, double pages_total) {
  // No pages, no rate: an inverted zero would print "inf", which is not JSON.
  if (pages_total <= 0) return;
  state.counters["pages/s"] = benchmark::Counter(pages_total, benchmark::Counter::kIsRate);
  // The inverse rate: seconds per page (the console prints "13.7us").
  state.counters["time/page"] =
      benchmark::Counter(pages_total, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void SkipWithErrno(benchmark::State& state, const std::string& what) {
  const std::string message = what + ": " + DescribeErrno(errno);
  state.SkipWithError(message.c_str());
}

int BenchMain(int argc, char** argv) {
  // A peer that died must show up as an error from write(), not kill us,
  // and must break a blocking read or futex wait (no SA_RESTART) so the
  // waiter looks at the peer.
  signal(SIGPIPE, SIG_IGN);
  struct sigaction on_child {};
  on_child.sa_handler = [](int) {};
  sigemptyset(&on_child.sa_mask);
  sigaction(SIGCHLD, &on_child, nullptr);
  struct utsname u {};
  if (uname(&u) == 0) {
    benchmark::AddCustomContext("kernel_release", u.release);
    benchmark::AddCustomContext("machine", u.machine);
  }
  benchmark::AddCustomContext("page_size", std::to_string(PageSize()));
  benchmark::AddCustomContext("online_cpus", std::to_string(sysconf(_SC_NPROCESSORS_ONLN)));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace shmconform::bench
