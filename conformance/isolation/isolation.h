// Helpers shared by the isolation tests: capabilities without libcap, a
// private /dev/shm in a new mount namespace, and run-unique user ids for
// per-user accounting. Everything a child calls is async-signal-safe.
#pragma once

#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <optional>
#include <string>

#include "shmconform/shmconform.h"

namespace shmconform {

// Whether `cap` is in the calling thread's effective set (raw capget).
inline bool HasEffectiveCapability(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return data[cap / 32].effective & (1u << (cap % 32));
}

// Removes `cap` from the effective, permitted and inheritable sets, so the
// process cannot get it back; true when capget then confirms it is gone.
inline bool DropCapability(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  const unsigned bit = 1u << (cap % 32);
  data[cap / 32].effective &= ~bit;
  data[cap / 32].permitted &= ~bit;
  data[cap / 32].inheritable &= ~bit;
  if (syscall(SYS_capset, &header, data) != 0) return false;
  return !HasEffectiveCapability(cap);
}

#define SKIP_UNLESS_CAPABILITY(cap)                                                  \
  do {                                                                               \
    if (!::shmconform::HasEffectiveCapability(cap))                                  \
      GTEST_SKIP() << "needs " #cap " in the effective set (run as root); uid " << geteuid(); \
  } while (0)

// A user id no real account uses, different for every call in this run, so
// per-user accounting (RLIMIT_MEMLOCK charges of SHM_LOCK) starts at zero and
// is shared with no other process on the machine.
inline uid_t UnusedUid() {
  static std::atomic<unsigned> counter{0};
  return 1500000000u + (static_cast<unsigned>(getpid()) % 4194304u) * 64u + (counter++ % 64u);
}

// In a child: become `uid` (gid the same) with no capabilities and the given
// RLIMIT_MEMLOCK (bytes, soft and hard).
inline bool BecomeUserWithMemlock(uid_t uid, rlim_t memlock) {
  const rlimit limit{memlock, memlock};
  return setrlimit(RLIMIT_MEMLOCK, &limit) == 0 && setgroups(0, nullptr) == 0 &&
         setresgid(uid, uid, uid) == 0 && setresuid(uid, uid, uid) == 0 && geteuid() == uid;
}

// In a child: a new mount namespace in which /dev/shm is a fresh, empty tmpfs.
// Mount events do not propagate back: / is made recursively private first.
inline bool EnterPrivateDevShm() {
  return unshare(CLONE_NEWNS) == 0 && mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
         mount("shmconform", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") == 0;
}

// nullopt when a private /dev/shm can be set up here (probed once in a child).
inline const std::optional<std::string>& WhyNoPrivateDevShm() {
  static const std::optional<std::string> why = []() -> std::optional<std::string> {
    struct stat st{};
    if (stat("/dev/shm", &st) != 0 || !S_ISDIR(st.st_mode)) return "there is no /dev/shm directory here";
    const ChildOutcome probe = RunInChild([] {
      if (!EnterPrivateDevShm()) _exit(errno & 0x7f);
    });
    if (probe.exited() && probe.exit_code == 0) return std::nullopt;
    return "cannot mount a private /dev/shm in a new mount namespace (" +
           (probe.exited() ? ErrnoName(probe.exit_code) : probe.Describe()) + "; needs CAP_SYS_ADMIN)";
  }();
  return why;
}

#define SKIP_UNLESS_PRIVATE_DEV_SHM()                                                 \
  do {                                                                                \
    if (const auto& why = ::shmconform::WhyNoPrivateDevShm(); why) GTEST_SKIP() << *why; \
  } while (0)

}  // namespace shmconform
