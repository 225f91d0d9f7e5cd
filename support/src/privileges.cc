#include "shmconform/privileges.h"

#include <fcntl.h>
#include <grp.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>

#include "shmconform/errno_names.h"

namespace shmconform {
void ChildDropPrivileges(uid_t uid, gid_t gid) {
  CHILD_CHECK_SUCCESS(setgroups(0, nullptr));
  CHILD_CHECK_SUCCESS(setresgid(gid, gid, gid));
  CHILD_CHECK_SUCCESS(setresuid(uid, uid, uid));
  CHILD_CHECK_EQ(geteuid(), uid);
  CHILD_CHECK_EQ(getegid(), gid);
}

uid_t UnusedUid() {
  static std::atomic<unsigned> counter{0};
  return 1500000000u + (static_cast<unsigned>(getpid()) % 4194304u) * 64u + (counter++ % 64u);
}

const std::optional<std::string>& WhyCannotChangeUid() {
  static const std::optional<std::string> why = []() -> std::optional<std::string> {
    if (geteuid() != 0)
      return "needs root (CAP_SETUID/CAP_SETGID) to switch to uid " + std::to_string(kUnprivilegedUid) +
             "; running as uid " + std::to_string(geteuid());
    const ChildOutcome probe = RunInChild([] {
      if (setgroups(0, nullptr) != 0 || setresgid(kUnprivilegedGid, kUnprivilegedGid, kUnprivilegedGid) != 0 ||
          setresuid(kUnprivilegedUid, kUnprivilegedUid, kUnprivilegedUid) != 0)
        _exit(errno & 0x7f);
    });
    if (probe.exited() && probe.exit_code == 0) return std::nullopt;
    return "cannot switch to uid " + std::to_string(kUnprivilegedUid) +
           " here (user namespace without that uid mapped, or CAP_SETUID dropped): " +
           (probe.exited() ? ErrnoName(probe.exit_code) : probe.Describe());
  }();
  return why;
}

ChildOutcome RunAsUser(const std::function<void()>& body, uid_t uid, gid_t gid) {
  return RunInChild([&] {
    ChildDropPrivileges(uid, gid);
    body();
  });
}

}  // namespace shmconform
