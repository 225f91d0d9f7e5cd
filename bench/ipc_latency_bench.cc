// Round-trip latency between two processes: the parent sends a ping, the
// peer (forked once per benchmark run) answers with a pong; one iteration is
// one round trip. Through shared memory (futex wait/wake, spin-then-futex,
// pure spinning) and through the kernel's byte channels (pipe, Unix stream
// socket, eventfd) with a one-byte (eventfd: 8-byte) message. The "_one_cpu"
// variants pin both processes to one CPU.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include <benchmark/benchmark.h>

#include "bench_util.h"
#include "shmconform/child.h"
#include "shmconform/errno_names.h"
#include "shmconform/owners.h"
#include "wait.h"

namespace shmconform::bench {
namespace {

// Where the two processes run: wherever the scheduler puts them, or both on
// the CPU the benchmark starts on. With one CPU every wake-up is a context
// switch on that CPU, so the figures compare the mechanisms' own costs
// without the scheduler's placement (sync wake-ups keep a pipe's two ends on
// one CPU; a futex or eventfd wake-up goes to wherever the sleeper last ran).
enum class Placement { kAny, kOneCpu };

// Pins this process, and so the peer it forks next, to its current CPU until
// the returned Cleanup runs. Empty Cleanup for kAny or when affinity is
// unavailable (the benchmark then says so in its label).
Cleanup Place(benchmark::State& state, Placement placement) {
  if (placement == Placement::kAny) return Cleanup();
  cpu_set_t before;
  const int cpu = sched_getcpu();
  if (cpu < 0 || sched_getaffinity(0, sizeof before, &before) != 0) {
    state.SetLabel("not pinned: no sched_getcpu/affinity");
    return Cleanup();
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (sched_setaffinity(0, sizeof one, &one) != 0) {
    state.SetLabel("not pinned: sched_setaffinity failed");
    return Cleanup();
  }
  return Cleanup([before] { sched_setaffinity(0, sizeof before, &before); });
}

struct PingPongBlock {
  Signal ping;  // parent -> peer: the round trip number
  Signal pong;  // peer -> parent: the same number back
};

void ShmPingPong(benchmark::State& state, WaitMode mode, Placement placement) {
  Cleanup unpin = Place(state, placement);
  auto memory = SharedMemory(sizeof(PingPongBlock));
  if (!memory) {
    SkipWithErrno(state, "mmap(MAP_SHARED|MAP_ANONYMOUS)");
    return;
  }
  auto* block = new (memory->get()) PingPongBlock;
  const std::uint64_t rounds = static_cast<std::uint64_t>(state.max_iterations);
  Peer peer = Peer::Start([&] {
    auto parent_alive = [] { return true; };  // PR_SET_PDEATHSIG ends us with the parent
    for (std::uint64_t i = 1; i <= rounds + 1; ++i) {
      CHILD_CHECK(AwaitChange(block->ping, i - 1, mode, parent_alive) == i);
      Post(block->pong, i, mode);
    }
  });
  if (!peer.started()) {
    SkipWithErrno(state, "fork");
    return;
  }
  auto peer_alive = [&] { return peer.Alive(); };
  auto round_trip = [&](std::uint64_t i) {
    Post(block->ping, i, mode);
    return AwaitChange(block->pong, i - 1, mode, peer_alive) == i;
  };
  // Round 1, not timed, waits until the peer runs.
  std::uint64_t i = 1;
  if (!round_trip(i)) state.SkipWithError(("no pong: " + peer.Diagnose()).c_str());
  for (auto _ : state) {
    if (!round_trip(++i)) {
      state.SkipWithError(("no pong: " + peer.Diagnose()).c_str());
      break;
    }
  }
  if (state.error_occurred()) return;  // the peer is killed by its destructor
  if (std::string failure = peer.Finish(); !failure.empty()) state.SkipWithError(failure.c_str());
}
BENCHMARK_CAPTURE(ShmPingPong, futex, WaitMode::kFutex, Placement::kAny)->UseRealTime();
BENCHMARK_CAPTURE(ShmPingPong, spin_then_futex, WaitMode::kAdaptive, Placement::kAny)->UseRealTime();
BENCHMARK_CAPTURE(ShmPingPong, spin, WaitMode::kSpin, Placement::kAny)->UseRealTime();
BENCHMARK_CAPTURE(ShmPingPong, futex_one_cpu, WaitMode::kFutex, Placement::kOneCpu)->UseRealTime();
BENCHMARK_CAPTURE(ShmPingPong, spin_then_futex_one_cpu, WaitMode::kAdaptive, Placement::kOneCpu)->UseRealTime();

// A byte channel each way, as four descriptors (some may be dups of others).
struct Channel {
  UniqueFd parent_out, parent_in;
  UniqueFd peer_in, peer_out;
};

enum class ChannelKind { kPipe, kUnixSocket, kEventfd };

bool MakeChannel(ChannelKind kind, Channel& c) {
  int a[2] = {-1, -1}, b[2] = {-1, -1};
  switch (kind) {
    case ChannelKind::kPipe:
      if (pipe2(a, O_CLOEXEC) != 0 || pipe2(b, O_CLOEXEC) != 0) break;
      c.peer_in.reset(a[0]);
      c.parent_out.reset(a[1]);
      c.parent_in.reset(b[0]);
      c.peer_out.reset(b[1]);
      break;
    case ChannelKind::kUnixSocket:
      // One connected pair carries both directions.
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a) != 0) break;
      c.parent_out.reset(a[0]);
      c.parent_in.reset(fcntl(a[0], F_DUPFD_CLOEXEC, 0));
      c.peer_in.reset(a[1]);
      c.peer_out.reset(fcntl(a[1], F_DUPFD_CLOEXEC, 0));
      break;
    case ChannelKind::kEventfd:
      c.parent_out.reset(eventfd(0, EFD_CLOEXEC));
      c.peer_in.reset(fcntl(c.parent_out.get(), F_DUPFD_CLOEXEC, 0));
      c.peer_out.reset(eventfd(0, EFD_CLOEXEC));
      c.parent_in.reset(fcntl(c.peer_out.get(), F_DUPFD_CLOEXEC, 0));
      break;
  }
  return c.parent_out.valid() && c.parent_in.valid() && c.peer_in.valid() && c.peer_out.valid();
}

// A read or write interrupted by SIGCHLD (our peer ended, perhaps normally
// right after answering) is retried while the peer lives or its answer waits.
bool Interrupted(int fd, const Peer* peer) {
  if (errno != EINTR || peer == nullptr) return false;
  struct pollfd p = {fd, POLLIN, 0};
  return peer->Alive() || poll(&p, 1, 0) == 1;
}

// Returns true when the whole message went through. `peer` is null in the peer.
bool Send(int fd, ChannelKind kind, const Peer* peer) {
  const std::uint64_t one = 1;  // an eventfd takes exactly 8 bytes
  const size_t n = kind == ChannelKind::kEventfd ? sizeof one : 1;
  ssize_t done;
  while ((done = write(fd, &one, n)) < 0 && Interrupted(fd, peer)) {
  }
  return done == static_cast<ssize_t>(n);
}

bool Receive(int fd, ChannelKind kind, const Peer* peer) {
  std::uint64_t value = 0;
  const size_t n = kind == ChannelKind::kEventfd ? sizeof value : 1;
  ssize_t done;
  while ((done = read(fd, &value, n)) < 0 && Interrupted(fd, peer)) {
  }
  if (done == 0) errno = 0;  // end of file
  return done == static_cast<ssize_t>(n);
}

void ChannelPingPong(benchmark::State& state, ChannelKind kind, Placement placement) {
  Cleanup unpin = Place(state, placement);
  Channel c;
  if (!MakeChannel(kind, c)) {
    SkipWithErrno(state, "making the channel");
    return;
  }
  const std::uint64_t rounds = static_cast<std::uint64_t>(state.max_iterations);
  Peer peer = Peer::Start([&] {
    const int in = c.peer_in.get(), out = c.peer_out.get();
    for (std::uint64_t i = 0; i <= rounds; ++i) {
      CHILD_CHECK(Receive(in, kind, nullptr));
      CHILD_CHECK(Send(out, kind, nullptr));
    }
  });
  if (!peer.started()) {
    SkipWithErrno(state, "fork");
    return;
  }
  // Pipes and sockets: without our copies of the peer's ends, its death is
  // end-of-file here. An eventfd has no end-of-file: its read is broken by
  // SIGCHLD (installed without SA_RESTART by BenchMain).
  if (kind != ChannelKind::kEventfd) {
    c.peer_in.reset();
    c.peer_out.reset();
  }
  const int out = c.parent_out.get(), in = c.parent_in.get();
  auto fail = [&] {
    const std::string why = errno ? DescribeErrno(errno) : "end of file";
    state.SkipWithError(("round trip failed (" + why + "): " + peer.Diagnose()).c_str());
  };
  // One round trip, not timed, waits until the peer runs.
  if (!Send(out, kind, &peer) || !Receive(in, kind, &peer)) fail();
  for (auto _ : state) {
    if (!Send(out, kind, &peer) || !Receive(in, kind, &peer)) {
      fail();
      break;
    }
  }
  if (state.error_occurred()) return;
  if (std::string failure = peer.Finish(); !failure.empty()) state.SkipWithError(failure.c_str());
}
BENCHMARK_CAPTURE(ChannelPingPong, pipe, ChannelKind::kPipe, Placement::kAny)->UseRealTime();
BENCHMARK_CAPTURE(ChannelPingPong, unix_socket, ChannelKind::kUnixSocket, Placement::kAny)->UseRealTime();
BENCHMARK_CAPTURE(ChannelPingPong, eventfd, ChannelKind::kEventfd, Placement::kAny)->UseRealTime();
BENCHMARK_CAPTURE(ChannelPingPong, pipe_one_cpu, ChannelKind::kPipe, Placement::kOneCpu)->UseRealTime();
BENCHMARK_CAPTURE(ChannelPingPong, unix_socket_one_cpu, ChannelKind::kUnixSocket, Placement::kOneCpu)->UseRealTime();
BENCHMARK_CAPTURE(ChannelPingPong, eventfd_one_cpu, ChannelKind::kEventfd, Placement::kOneCpu)->UseRealTime();

}  // namespace
}  // namespace shmconform::bench

SHMCONFORM_BENCH_MAIN()
