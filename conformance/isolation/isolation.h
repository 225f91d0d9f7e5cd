// Helpers shared by the isolation tests: capabilities without libcap and a
// private /dev/shm in a new mount namespace (private IPC namespaces and user
// ids come from the support library). Everything a child calls is
// async-signal-safe.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
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

#define SKIP_UNLESS_CAPABILITY(cap)                                                           \
  do {                                                                                        \
    if (!::shmconform::HasEffectiveCapability(cap))                                           \
      GTEST_SKIP() << "needs " #cap " in the effective set (run as root); uid " << geteuid(); \
  } while (0)

// In a child: become `uid` (gid the same) with no capabilities and the given
// RLIMIT_MEMLOCK (bytes, soft and hard).
inline void BecomeUserWithMemlock(uid_t uid, rlim_t memlock) {
  const rlimit limit{memlock, memlock};
  CHILD_CHECK_SUCCESS(setrlimit(RLIMIT_MEMLOCK, &limit));
  ChildDropPrivileges(uid, uid);
}

// In a child: a new mount namespace in which /dev/shm is a fresh, empty tmpfs.
// Mount events do not propagate back: / is made recursively private first.
inline bool EnterPrivateDevShm(NamespaceMode mode) {
  return EnterNamespaces(CLONE_NEWNS, mode) && mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
         mount("shmconform", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") == 0;
}

inline const NamespaceProbe& ProbeDevShmNamespace() {
  static const NamespaceProbe probe = [] {
    struct stat st {};
    if (stat("/dev/shm", &st) != 0 || !S_ISDIR(st.st_mode))
      return NamespaceProbe{std::nullopt, "there is no /dev/shm directory here"};
    return ProbeNamespaces("a mount namespace with a private tmpfs on /dev/shm",
                           [](NamespaceMode mode) { return EnterPrivateDevShm(mode); });
  }();
  return probe;
}

}  // namespace shmconform

#define SKIP_UNLESS_PRIVATE_DEV_SHM()                         \
  do {                                                        \
    const auto& probe = ::shmconform::ProbeDevShmNamespace(); \
    if (!probe.mode) GTEST_SKIP() << probe.why_not;           \
    ::shmconform::RecordNamespaceMode(*probe.mode);           \
  } while (0)
