// Futex wait and wake on a 32-bit word that processes share (a MAP_SHARED
// mapping or a segment): never FUTEX_PRIVATE_FLAG, which would only match
// waiters of the same process. Used by the stress locks and the benchmarks'
// handshakes.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdint>

namespace shmconform {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
                  std::atomic<std::uint32_t>::is_always_lock_free,
              "a futex word is a plain 32-bit integer");

inline constexpr long kFutexNoTimeout = -1;
inline constexpr int kFutexWakeAll = INT_MAX;

// Sleeps while *word == expected, until a wake, a signal or `timeout_ns`
// (kFutexNoTimeout: none). EAGAIN (the word had changed), EINTR and ETIMEDOUT
// all mean the same to a caller: look at its condition again.
inline void FutexWait(std::atomic<std::uint32_t>* word, std::uint32_t expected, long timeout_ns = kFutexNoTimeout) {
  // SYS_futex reads two longs (old_timespec32 on 32-bit targets), which timespec
  // no longer is in a file built with 64-bit time_t there (_TIME_BITS=64).
  struct {
    long tv_sec, tv_nsec;
  } const timeout{timeout_ns / 1'000'000'000, timeout_ns % 1'000'000'000};
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT, expected, timeout_ns < 0 ? nullptr : &timeout,
          nullptr, 0);
}

// Wakes up to `waiters` processes sleeping on `word`.
inline void FutexWake(std::atomic<std::uint32_t>* word, int waiters = 1) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE, waiters, nullptr, nullptr, 0);
}

}  // namespace shmconform
