// Bulk transfer between two processes, in bytes/s, by message size (64 B to
// 4 MiB): the parent sends messages from a buffer of its own, the peer
// (forked once per benchmark run) receives each into a buffer of its own and
// checks its sequence stamp. Through a shared-memory ring, a pipe and a Unix
// stream socket. The last iteration waits until the peer has received
// everything, so the time covers every byte delivered.
//
// The physical limits, measured in the same run: single-thread memcpy between
// two private buffers of the message size (a ring transfer is two such copies,
// into the ring and out of it, done in parallel by two processes, so memcpy
// bandwidth is what a perfect ring would reach), and CrossCoreTransfer: what
// two cores can move between each other at all, through the same ring.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include <benchmark/benchmark.h>

#include "bench_util.h"
#include "shmconform/child.h"
#include "shmconform/errno_names.h"
#include "shmconform/owners.h"
#include "wait.h"

namespace shmconform::bench {
namespace {

// Ring geometry. Chunks bound how long a side copies before it publishes its
// cursor, so the two copies overlap; the ring holds 16 chunks in flight.
// (Measured here: 1-4 MiB rings with 32-128 KiB chunks are within noise of
// each other; 256 KiB rings and 16 KiB chunks are slower.)
constexpr size_t kRingBytes = 2 << 20;
constexpr size_t kChunkBytes = 128 << 10;
static_assert((kRingBytes & (kRingBytes - 1)) == 0, "the ring size is a power of two");

// Copies `len` bytes into the ring with non-temporal (streaming) stores: the
// lines go to memory rather than into the sender's cache, so the receiver
// need not fetch them from the other core, and the sender's next lap needs no
// read-for-ownership of lines the receiver still holds; but both sides now
// depend on memory bandwidth shared with the whole machine. The sfence orders
// the streaming stores before the cursor is published. Small or unaligned
// pieces are copied normally.
void StreamToRing(char* dst, const char* src, size_t len) {
#if defined(__x86_64__)
  if (len >= 1024 && reinterpret_cast<std::uintptr_t>(dst) % 16 == 0 && len % 16 == 0) {
    auto* out = reinterpret_cast<__m128i*>(dst);
    const auto* in = reinterpret_cast<const __m128i*>(src);
    for (size_t k = 0; k < len / 16; ++k) _mm_stream_si128(out + k, _mm_loadu_si128(in + k));
    _mm_sfence();
    return;
  }
#endif
  std::memcpy(dst, src, len);
}

// A single-producer single-consumer byte ring in shared memory. Each cursor
// counts bytes since the start and sits on its own cache lines with its futex
// word; the data starts on the next page.
struct RingControl {
  Signal head;  // bytes written by the producer
  Signal tail;  // bytes read by the consumer
};
constexpr size_t kRingDataOffset = 4096;
static_assert(sizeof(RingControl) <= kRingDataOffset);

class Ring {
 public:
  // `memory` holds a RingControl constructed before the fork.
  Ring(void* memory, WaitMode mode)
      : control_(static_cast<RingControl*>(memory)), data_(static_cast<char*>(memory) + kRingDataOffset), mode_(mode) {}

  // Puts `n` bytes into the ring, waiting for room: fill(ring_bytes, len,
  // offset) writes bytes [offset, offset + len) of the message. False if the
  // peer died.
  template <typename Fill, typename Alive>
  bool Write(size_t n, Fill&& fill, Alive&& alive) {
    size_t offset = 0;
    while (n > 0) {
      size_t room = kRingBytes - (head_ - tail_seen_);
      if (room < std::min(n, kChunkBytes)) {
        // Only now look at the consumer's cursor: it lives on its cache line.
        tail_seen_ = control_->tail.value.load(std::memory_order_acquire);
        room = kRingBytes - (head_ - tail_seen_);
        if (room == 0) {
          const std::uint64_t before = tail_seen_;
          tail_seen_ = AwaitChange(control_->tail, before, mode_, alive);
          if (tail_seen_ == before) return false;
          continue;
        }
      }
      const size_t at = head_ & (kRingBytes - 1);
      const size_t len = std::min({n, room, kRingBytes - at, kChunkBytes});
      fill(data_ + at, len, offset);
      head_ += len;
      offset += len;
      n -= len;
      Post(control_->head, head_, mode_);
    }
    return true;
  }

  // Takes `n` bytes out of the ring, waiting for data: drain(ring_bytes, len,
  // offset) consumes bytes [offset, offset + len) of the message. False if the
  // peer died.
  template <typename Drain, typename Alive>
  bool Read(size_t n, Drain&& drain, Alive&& alive) {
    size_t offset = 0;
    while (n > 0) {
      size_t ready = head_seen_ - tail_;
      if (ready < std::min(n, kChunkBytes)) {
        head_seen_ = control_->head.value.load(std::memory_order_acquire);
        ready = head_seen_ - tail_;
        if (ready == 0) {
          const std::uint64_t before = head_seen_;
          head_seen_ = AwaitChange(control_->head, before, mode_, alive);
          if (head_seen_ == before) return false;
          continue;
        }
      }
      const size_t at = tail_ & (kRingBytes - 1);
      const size_t len = std::min({n, ready, kRingBytes - at, kChunkBytes});
      drain(data_ + at, len, offset);
      tail_ += len;
      offset += len;
      n -= len;
      Post(control_->tail, tail_, mode_);
    }
    return true;
  }

  // Producer: waits until the consumer has read everything written.
  template <typename Alive>
  bool Drain(Alive&& alive) {
    while (tail_seen_ != head_) {
      const std::uint64_t before = tail_seen_;
      tail_seen_ = control_->tail.value.load(std::memory_order_acquire);
      if (tail_seen_ == before) {
        tail_seen_ = AwaitChange(control_->tail, before, mode_, alive);
        if (tail_seen_ == before) return false;
      }
    }
    return true;
  }

 private:
  RingControl* control_;
  char* data_;
  WaitMode mode_;
  std::uint64_t head_ = 0, tail_ = 0;            // our own cursor (one of the two is used)
  std::uint64_t head_seen_ = 0, tail_seen_ = 0;  // the other side's, as last read
};

// Message i carries i in its first and last 8 bytes.
void Stamp(char* message, size_t size, std::uint64_t i) {
  std::memcpy(message, &i, sizeof i);
  std::memcpy(message + size - sizeof i, &i, sizeof i);
}

bool HasStamp(const char* message, size_t size, std::uint64_t i) {
  std::uint64_t first, last;
  std::memcpy(&first, message, sizeof first);
  std::memcpy(&last, message + size - sizeof last, sizeof last);
  return first == i && last == i;
}

void SetBytes(benchmark::State& state, size_t size) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(size));
}

// Sends state.max_iterations + 1 messages of `size` bytes through a ring in
// shared memory to a peer forked for this run. prepare(i) readies message i
// in the sender, fill/drain move its bytes (see Ring), check(i) verifies it
// in the receiver. Message 1 is not timed: it waits until the peer runs; the
// last one waits until the peer has it.
template <typename Prepare, typename Fill, typename DrainFn, typename Check>
void RingTransfer(benchmark::State& state, size_t size, Prepare&& prepare, Fill&& fill, DrainFn&& drain,
                  Check&& check) {
  auto shared = SharedMemory(kRingDataOffset + kRingBytes);
  if (!shared) return SkipWithErrno(state, "mmap(MAP_SHARED|MAP_ANONYMOUS)");
  new (shared->get()) RingControl;
  const std::uint64_t messages = static_cast<std::uint64_t>(state.max_iterations) + 1;
  Peer peer = Peer::Start([&] {
    Ring ring(shared->get(), WaitMode::kAdaptive);
    auto parent_alive = [] { return true; };  // PR_SET_PDEATHSIG ends us with the parent
    for (std::uint64_t i = 1; i <= messages; ++i) {
      CHILD_CHECK(ring.Read(size, drain, parent_alive));
      CHILD_CHECK(check(i));
    }
  });
  if (!peer.started()) return SkipWithErrno(state, "fork");
  Ring ring(shared->get(), WaitMode::kAdaptive);
  auto peer_alive = [&] { return peer.Alive(); };
  auto send = [&](std::uint64_t i) {
    prepare(i);
    if (ring.Write(size, fill, peer_alive) && ((i > 1 && i < messages) || ring.Drain(peer_alive))) return true;
    state.SkipWithError(("the peer stopped reading: " + peer.Diagnose()).c_str());
    return false;
  };
  std::uint64_t i = 1;
  send(i);
  for (auto _ : state) {
    if (!send(++i)) break;
  }
  if (state.error_occurred()) return;  // the peer is killed by its destructor
  if (std::string failure = peer.Finish(); !failure.empty()) return state.SkipWithError(failure.c_str());
  SetBytes(state, size);
}

// The shared-memory ring as a channel: each message is copied from the
// sender's buffer into the ring and out of it into the receiver's buffer.
// `streaming`: the sender's copy uses StreamToRing.
void ShmRingBandwidth(benchmark::State& state, bool streaming) {
  const size_t size = static_cast<size_t>(state.range(0));
  auto src = PrivateMemory(size);
  auto dst = PrivateMemory(size);  // the peer's copy after fork
  if (!src || !dst) return SkipWithErrno(state, "mmap");
  char* const from = src->bytes();
  char* const to = dst->bytes();
  RingTransfer(
      state, size, [&](std::uint64_t i) { Stamp(from, size, i); },
      [&](char* ring, size_t len, size_t offset) {
        if (streaming) {
          StreamToRing(ring, from + offset, len);
        } else {
          std::memcpy(ring, from + offset, len);
        }
      },
      [&](const char* ring, size_t len, size_t offset) { std::memcpy(to + offset, ring, len); },
      [&](std::uint64_t i) { return HasStamp(to, size, i); });
}

// The machine's limit for moving data between two processes: the same ring
// with no private buffers. The sender writes every byte of the ring (memset
// of the message number); the receiver reads one word per cache line and
// checks it. What remains is the transfer of every cache line from one core
// to the other, plus the ring's synchronisation.
void CrossCoreTransfer(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  constexpr size_t kLine = 64;
  unsigned char sending = 0, received = 0;
  bool intact = true;
  RingTransfer(
      state, size, [&](std::uint64_t i) { sending = static_cast<unsigned char>(i); },
      [&](char* ring, size_t len, size_t) { std::memset(ring, sending, len); },
      [&](const char* ring, size_t len, size_t offset) {
        // Chunks start at multiples of the line size: ring positions advance
        // by message sizes, all multiples of 64.
        if (offset == 0) received = static_cast<unsigned char>(ring[0]);
        for (size_t k = 0; k < len; k += kLine) intact &= static_cast<unsigned char>(ring[k]) == received;
      },
      [&](std::uint64_t i) { return std::exchange(intact, true) && received == static_cast<unsigned char>(i); });
}

// kLargePipe: a pipe grown to 1 MiB with F_SETPIPE_SZ (the default
// /proc/sys/fs/pipe-max-size), the best a pipe can do; kPipe keeps the
// default capacity (16 pages) every program gets.
enum class ChannelKind { kPipe, kLargePipe, kUnixSocket };
constexpr int kLargePipeBytes = 1 << 20;

bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t done = write(fd, p, n);
    if (done <= 0) {
      if (done < 0 && errno == EINTR) continue;
      return false;
    }
    p += done;
    n -= static_cast<size_t>(done);
  }
  return true;
}

bool ReadAll(int fd, char* p, size_t n) {
  while (n > 0) {
    const ssize_t done = read(fd, p, n);
    if (done <= 0) {
      if (done < 0 && errno == EINTR) continue;
      if (done == 0) errno = 0;  // end of file
      return false;
    }
    p += done;
    n -= static_cast<size_t>(done);
  }
  return true;
}

// The same transfer through a kernel byte channel: write() and read() are the
// two copies. The peer acknowledges the last message with one byte back.
void ChannelBandwidth(benchmark::State& state, ChannelKind kind) {
  const size_t size = static_cast<size_t>(state.range(0));
  auto src = PrivateMemory(size);
  auto dst = PrivateMemory(size);
  if (!src || !dst) {
    SkipWithErrno(state, "mmap");
    return;
  }
  int fds[2];
  UniqueFd parent_out, peer_in, peer_ack, parent_ack;
  if (kind != ChannelKind::kUnixSocket) {
    if (pipe2(fds, O_CLOEXEC) != 0) return SkipWithErrno(state, "pipe2");
    peer_in.reset(fds[0]);
    parent_out.reset(fds[1]);
    if (kind == ChannelKind::kLargePipe && fcntl(fds[1], F_SETPIPE_SZ, kLargePipeBytes) < 0)
      return SkipWithErrno(state, "fcntl(F_SETPIPE_SZ, 1 MiB)");
  } else {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return SkipWithErrno(state, "socketpair");
    parent_out.reset(fds[0]);
    peer_in.reset(fds[1]);
  }
  if (pipe2(fds, O_CLOEXEC) != 0) return SkipWithErrno(state, "pipe2");
  parent_ack.reset(fds[0]);
  peer_ack.reset(fds[1]);

  const std::uint64_t messages = static_cast<std::uint64_t>(state.max_iterations);
  Peer peer = Peer::Start([&] {
    for (std::uint64_t i = 1; i <= messages + 1; ++i) {
      CHILD_CHECK(ReadAll(peer_in.get(), dst->bytes(), size));
      CHILD_CHECK(HasStamp(dst->bytes(), size, i));
      if (i == 1 || i == messages + 1) CHILD_CHECK(WriteAll(peer_ack.get(), "k", 1));
    }
  });
  if (!peer.started()) return SkipWithErrno(state, "fork");
  // Without our copies of the peer's ends, its death is EPIPE / end-of-file.
  peer_in.reset();
  peer_ack.reset();
  auto fail = [&] {
    const std::string why = errno ? DescribeErrno(errno) : "end of file";
    state.SkipWithError(("transfer failed (" + why + "): " + peer.Diagnose()).c_str());
  };
  // Message 1, not timed, waits until the peer runs; the last one timed
  // waits for the peer's acknowledgement.
  std::uint64_t i = 1;
  char ack;
  Stamp(src->bytes(), size, i);
  if (!WriteAll(parent_out.get(), src->bytes(), size) || !ReadAll(parent_ack.get(), &ack, 1)) fail();
  for (auto _ : state) {
    Stamp(src->bytes(), size, ++i);
    if (!WriteAll(parent_out.get(), src->bytes(), size) || (i == messages + 1 && !ReadAll(parent_ack.get(), &ack, 1))) {
      fail();
      break;
    }
  }
  if (state.error_occurred()) return;
  if (std::string failure = peer.Finish(); !failure.empty()) state.SkipWithError(failure.c_str());
  SetBytes(state, size);
}

void Memcpy(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  auto src = PrivateMemory(size);
  auto dst = PrivateMemory(size);
  if (!src || !dst) return SkipWithErrno(state, "mmap");
  for (auto _ : state) {
    std::memcpy(dst->bytes(), src->bytes(), size);
    benchmark::ClobberMemory();
  }
  SetBytes(state, size);
}

void MessageSizes(benchmark::internal::Benchmark* b) {
  for (int64_t size : {64, 1 << 10, 4 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20}) b->Arg(size);
}

BENCHMARK_CAPTURE(ShmRingBandwidth, , false)->Name("ShmRingBandwidth")->Apply(MessageSizes)->UseRealTime();
#if defined(__x86_64__)
BENCHMARK_CAPTURE(ShmRingBandwidth, , true)->Name("ShmRingStreamingBandwidth")->Apply(MessageSizes)->UseRealTime();
#endif
BENCHMARK(CrossCoreTransfer)->Apply(MessageSizes)->UseRealTime();
BENCHMARK_CAPTURE(ChannelBandwidth, pipe, ChannelKind::kPipe)->Apply(MessageSizes)->UseRealTime();
BENCHMARK_CAPTURE(ChannelBandwidth, pipe_1mib, ChannelKind::kLargePipe)->Apply(MessageSizes)->UseRealTime();
BENCHMARK_CAPTURE(ChannelBandwidth, unix_socket, ChannelKind::kUnixSocket)->Apply(MessageSizes)->UseRealTime();
BENCHMARK(Memcpy)->Apply(MessageSizes)->UseRealTime();

}  // namespace
}  // namespace shmconform::bench

SHMCONFORM_BENCH_MAIN()
