// Runs code as an unprivileged user, by number: no /etc/passwd lookup, so it
// works in a bare initramfs. Tests for EACCES/EPERM fork a child, drop to
// uid/gid 65534 (nobody/nogroup by convention) and check from there.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

#include "shmconform/child.h"

namespace shmconform {

inline constexpr uid_t kUnprivilegedUid = 65534;
inline constexpr gid_t kUnprivilegedGid = 65534;

// nullopt when this process can switch to another uid/gid (probed once, by
// trying it in a child); otherwise the reason, for GTEST_SKIP.
const std::optional<std::string>& WhyCannotChangeUid();

// Forks; the child drops supplementary groups, then gid, then uid (so no
// capability survives), verifies the switch, and runs the body as in
// RunInChild. The outcome is the child's.
ChildOutcome RunAsUser(const std::function<void()>& body, uid_t uid = kUnprivilegedUid, gid_t gid = kUnprivilegedGid);

// In a forked child: gives up root for good -- supplementary groups, then
// gid, then uid -- and verifies it, or fails the child's check. For bodies
// that first do something privileged (unshare) and then act unprivileged.
// Async-signal-safe.
void ChildDropPrivileges(uid_t uid = kUnprivilegedUid, gid_t gid = kUnprivilegedGid);

// A user id no real account uses, different for every call in this run, so
// per-user accounting (RLIMIT_MEMLOCK charges of SHM_LOCK) starts at zero and
// is shared with no other process on the machine.
uid_t UnusedUid();

}  // namespace shmconform

#define SKIP_UNLESS_CAN_CHANGE_UID()                                                     \
  do {                                                                                   \
    if (const auto& why = ::shmconform::WhyCannotChangeUid(); why) GTEST_SKIP() << *why; \
  } while (0)
