// Helpers shared by the isolation tests: capabilities without libcap, a
// private /dev/shm in a new mount namespace, and run-unique user ids for
// per-user accounting. Everything a child calls is async-signal-safe.
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

#include <atomic>
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

// How a test gets new namespaces: directly (root, CAP_SYS_ADMIN), or, for an
// ordinary user where the kernel allows it, inside a new user namespace that
// maps the caller to root in it -- the way rootless containers do.
enum class NamespaceMode { kDirect, kUserNamespace };

namespace internal {

inline bool WriteWholeFile(const char* path, const char* text) {
  const int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const size_t len = std::strlen(text);
  const bool ok = write(fd, text, len) == static_cast<ssize_t>(len);
  close(fd);
  return ok;
}

// "0 <id> 1": root in the new user namespace is `id` outside it.
inline bool WriteIdMap(const char* path, unsigned id) {
  char text[32] = "0 ";
  char digits[12];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + id % 10);
    id /= 10;
  } while (id);
  size_t at = 2;
  while (n) text[at++] = digits[--n];
  std::strcpy(text + at, " 1");
  return WriteWholeFile(path, text);
}

}  // namespace internal

// In a child: enter new namespaces (CLONE_NEWIPC, CLONE_NEWNS) the given way.
inline bool EnterNamespaces(int flags, NamespaceMode mode) {
  if (mode == NamespaceMode::kDirect) return unshare(flags) == 0;
  const uid_t uid = geteuid();
  const gid_t gid = getegid();
  return unshare(CLONE_NEWUSER | flags) == 0 && internal::WriteWholeFile("/proc/self/setgroups", "deny") &&
         internal::WriteIdMap("/proc/self/uid_map", uid) && internal::WriteIdMap("/proc/self/gid_map", gid);
}

// In a child: a new mount namespace in which /dev/shm is a fresh, empty tmpfs.
// Mount events do not propagate back: / is made recursively private first.
inline bool EnterPrivateDevShm(NamespaceMode mode) {
  return EnterNamespaces(CLONE_NEWNS, mode) && mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
         mount("shmconform", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") == 0;
}

// In a child: a new IPC namespace whose shm sysctls this process may write.
inline bool EnterWritableIpcNamespace(NamespaceMode mode) {
  if (!EnterNamespaces(CLONE_NEWIPC, mode) || !WriteKernelSysctl("shmmni", 64)) return false;
  // shm_next_id is optional (CONFIG_CHECKPOINT_RESTORE); writing it would use it up.
  return access("/proc/sys/kernel/shm_next_id", F_OK) != 0 || access("/proc/sys/kernel/shm_next_id", W_OK) == 0;
}

struct NamespaceProbe {
  std::optional<NamespaceMode> mode;  // empty: not possible here
  std::string why_not;
};

// Tries `enter` directly, then in a user namespace, each in a throwaway child.
template <typename Enter>
NamespaceProbe ProbeNamespaces(const char* what, Enter enter) {
  for (NamespaceMode mode : {NamespaceMode::kDirect, NamespaceMode::kUserNamespace}) {
    const ChildOutcome probe = RunInChild([&] {
      if (!enter(mode)) _exit(errno & 0x7f);
    });
    if (probe.exited() && probe.exit_code == 0) return {mode, {}};
  }
  return {std::nullopt, std::string("cannot make ") + what +
                            ": unshare needs CAP_SYS_ADMIN, and no usable user namespace either "
                            "(user.max_user_namespaces, or the kernel refuses unprivileged ones)"};
}

inline const NamespaceProbe& ProbeIpcNamespace() {
  static const NamespaceProbe probe =
      ProbeNamespaces("a new IPC namespace with writable shm sysctls", EnterWritableIpcNamespace);
  return probe;
}

inline const NamespaceProbe& ProbeDevShmNamespace() {
  static const NamespaceProbe probe = [] {
    struct stat st{};
    if (stat("/dev/shm", &st) != 0 || !S_ISDIR(st.st_mode))
      return NamespaceProbe{std::nullopt, "there is no /dev/shm directory here"};
    return ProbeNamespaces("a mount namespace with a private tmpfs on /dev/shm", EnterPrivateDevShm);
  }();
  return probe;
}

// Records how the namespaces were made, so a report can tell a rootless run.
inline void RecordNamespaceMode(NamespaceMode mode) {
  ::testing::Test::RecordProperty("namespace_mode", mode == NamespaceMode::kDirect ? "direct" : "user_namespace");
}

// Runs `body` in a child inside a new IPC namespace (made as ProbeIpcNamespace found possible).
inline ChildOutcome RunInNewIpcNamespace(const std::function<void()>& body) {
  const NamespaceMode mode = *ProbeIpcNamespace().mode;
  return RunInChild([&] {
    CHILD_CHECK(EnterWritableIpcNamespace(mode));
    body();
  });
}

}  // namespace shmconform

#define SKIP_UNLESS_NEW_IPC_NAMESPACE()                                                   \
  do {                                                                                    \
    const auto& probe = ::shmconform::ProbeIpcNamespace();                                \
    if (!probe.mode) GTEST_SKIP() << probe.why_not;                                       \
    ::shmconform::RecordNamespaceMode(*probe.mode);                                       \
  } while (0)

#define SKIP_UNLESS_PRIVATE_DEV_SHM()                                                     \
  do {                                                                                    \
    const auto& probe = ::shmconform::ProbeDevShmNamespace();                             \
    if (!probe.mode) GTEST_SKIP() << probe.why_not;                                       \
    ::shmconform::RecordNamespaceMode(*probe.mode);                                       \
  } while (0)

