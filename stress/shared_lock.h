// Process-shared locks in shared memory (futex based). They never wait
// forever in a worker: a waiter gives up when the run is stopping, so one
// crashed worker holding a lock cannot hang the others.
#pragma once

#include <atomic>
#include <cstdint>

namespace shmconform::stress {

class Worker;

class SharedLock {
 public:
  // False when the run is stopping (the worker should return).
  bool Lock(Worker& w);
  void Lock();  // parent side, no stop check
  void Unlock();

 private:
  std::atomic<std::uint32_t> state_{0};  // 0 free, 1 locked, 2 locked with waiters
};

// A reader-writer lock; a waiting writer holds off new readers. Lock calls
// return false when the run is stopping.
class SharedRwLock {
 public:
  bool LockShared(Worker& w);
  void UnlockShared();
  bool LockExclusive(Worker& w);
  void UnlockExclusive();

 private:
  static constexpr std::uint32_t kWriter = 1u << 31, kPending = 1u << 30;
  std::atomic<std::uint32_t> state_{0};
};

}  // namespace shmconform::stress
