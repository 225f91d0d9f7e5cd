// Waiting for a word in shared memory to change, three ways: sleep in the
// kernel at once (futex), spin, or spin for a while and then sleep. The
// adaptive way wakes the other side with a system call only when it has
// declared that it sleeps.
#pragma once

#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdint>

#include "bench_util.h"
#include "shmconform/futex.h"

namespace shmconform::bench {

// One direction of a handshake: the value the waiter waits for, the futex
// word it sleeps on, and its "I am asleep" flag. On a line of its own: only
// the two processes of this direction touch it.
struct alignas(128) Signal {
  std::atomic<std::uint64_t> value{0};
  std::atomic<std::uint32_t> event{0};       // futex word, bumped to wake the waiter
  std::atomic<std::uint32_t> sleeping{0};    // the waiter is in (or entering) FUTEX_WAIT
  std::atomic<std::int32_t> poster_cpu{-1};  // where the poster ran when it last posted
};

enum class WaitMode {
  kFutex,     // always FUTEX_WAIT at once, always FUTEX_WAKE: the kernel's cost
  kAdaptive,  // spin up to a budget, then sleep; wake only a sleeper
  kSpin,      // spin only (yielding now and then, so an overloaded machine moves on)
};

// Spin budget of the adaptive mode: long enough to cover a peer that is
// running and about to answer (a round trip, or copying one ring chunk), short
// enough not to burn a core the peer needs when it is not running.
inline constexpr std::chrono::nanoseconds kSpinBudget{50'000};

// Spinning helps only while the poster runs on another CPU: on ours it cannot
// run until we stop. Its CPU at its last post is the estimate.
inline bool PosterRunsElsewhere(const Signal& s) {
  const int cpu = sched_getcpu();
  return cpu < 0 || s.poster_cpu.load(std::memory_order_relaxed) != cpu;
}

// Publishes `v` and wakes the waiter as the mode requires.
inline void Post(Signal& s, std::uint64_t v, WaitMode mode) {
  if (mode == WaitMode::kSpin) {
    s.value.store(v, std::memory_order_release);
    return;
  }
  if (mode == WaitMode::kAdaptive) s.poster_cpu.store(sched_getcpu(), std::memory_order_relaxed);
  // seq_cst store then load: with the waiter's seq_cst store of `sleeping`
  // and load of `value`, one of the two sees the other (no lost wake-up).
  s.value.store(v, std::memory_order_seq_cst);
  if (mode == WaitMode::kFutex || s.sleeping.load(std::memory_order_seq_cst)) {
    s.event.fetch_add(1, std::memory_order_release);
    FutexWake(&s.event);
  }
}

// Waits until s.value != seen and returns it; returns `seen` when `alive()`
// says the peer is gone. `alive` is asked only after a wait that ended
// without news (a timeout, or EINTR from SIGCHLD), so it costs nothing in the
// common case.
template <typename Alive>
std::uint64_t AwaitChange(Signal& s, std::uint64_t seen, WaitMode mode, Alive&& alive) {
  std::uint64_t v = s.value.load(std::memory_order_acquire);
  if (v != seen) return v;
  if (mode == WaitMode::kSpin || (mode == WaitMode::kAdaptive && PosterRunsElsewhere(s))) {
    const auto deadline = std::chrono::steady_clock::now() + kSpinBudget;
    for (unsigned spins = 1;; ++spins) {
      CpuRelax();
      v = s.value.load(std::memory_order_acquire);
      if (v != seen) return v;
      if (mode == WaitMode::kAdaptive) {
        if (spins % 64 == 0 && std::chrono::steady_clock::now() > deadline) break;
      } else if (spins % 1024 == 0) {
        sched_yield();
        if (spins % (1u << 18) == 0 && !alive()) return seen;
      }
    }
  }
  for (;;) {
    const std::uint32_t event = s.event.load(std::memory_order_acquire);
    s.sleeping.store(1, std::memory_order_seq_cst);
    v = s.value.load(std::memory_order_seq_cst);
    if (v == seen) FutexWait(&s.event, event, kLivenessCheckNs);
    s.sleeping.store(0, std::memory_order_relaxed);
    v = s.value.load(std::memory_order_acquire);
    if (v != seen) return v;
    if (!alive()) return seen;
  }
}

}  // namespace shmconform::bench
