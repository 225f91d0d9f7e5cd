#include "shared_lock.h"

#include "framework.h"
#include "shmconform/futex.h"

namespace shmconform::stress {
namespace {
// How long a worker sleeps on a lock before it looks whether the run stops.
constexpr long kStopCheckNs = 50'000'000;
}  // namespace

bool SharedLock::Lock(Worker& w) {
  std::uint32_t c = 0;
  if (state_.compare_exchange_strong(c, 1, std::memory_order_acquire)) return true;
  if (c != 2) c = state_.exchange(2, std::memory_order_acquire);
  while (c != 0) {
    if (w.Stopping()) return false;
    FutexWait(&state_, 2, kStopCheckNs);
    c = state_.exchange(2, std::memory_order_acquire);
  }
  return true;
}

void SharedLock::Lock() {
  std::uint32_t c = 0;
  if (state_.compare_exchange_strong(c, 1, std::memory_order_acquire)) return;
  if (c != 2) c = state_.exchange(2, std::memory_order_acquire);
  while (c != 0) {
    FutexWait(&state_, 2);
    c = state_.exchange(2, std::memory_order_acquire);
  }
}

void SharedLock::Unlock() {
  if (state_.fetch_sub(1, std::memory_order_release) != 1) {
    state_.store(0, std::memory_order_release);
    FutexWake(&state_);
  }
}

bool SharedRwLock::LockShared(Worker& w) {
  for (;;) {
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    if (!(s & (kWriter | kPending))) {
      if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acquire)) return true;
      continue;
    }
    if (w.Stopping()) return false;
    FutexWait(&state_, s, kStopCheckNs);
  }
}

void SharedRwLock::UnlockShared() {
  if (((state_.fetch_sub(1, std::memory_order_release) - 1) & ~kPending) == 0) FutexWake(&state_, kFutexWakeAll);
}

bool SharedRwLock::LockExclusive(Worker& w) {
  for (;;) {
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    if ((s & ~kPending) == 0) {
      if (state_.compare_exchange_weak(s, kWriter, std::memory_order_acquire)) return true;
      continue;
    }
    if (!(s & kPending)) {
      state_.fetch_or(kPending, std::memory_order_relaxed);
      continue;
    }
    if (w.Stopping()) return false;
    FutexWait(&state_, s, kStopCheckNs);
  }
}

void SharedRwLock::UnlockExclusive() {
  state_.fetch_and(~kWriter, std::memory_order_release);
  FutexWake(&state_, kFutexWakeAll);
}

}  // namespace shmconform::stress
