// Runs code in a private IPC namespace (a fresh set of SysV objects and
// limits), so tests may lower shmmax/shmmni/shmall without touching the host.
// As root the namespace is made directly; as an ordinary user, where the
// kernel allows it, inside a new user namespace that maps the caller to root
// in it -- the way rootless containers do. Where neither works, tests skip
// with the reason.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "shmconform/child.h"

namespace shmconform {

// How a child gets new namespaces: directly (CAP_SYS_ADMIN), or inside a new
// user namespace in which the caller is root.
enum class NamespaceMode { kDirect, kUserNamespace };

struct NamespaceProbe {
  std::optional<NamespaceMode> mode;  // empty: not possible here
  std::string why_not;
};

// In a child: enters new namespaces (CLONE_NEWIPC, CLONE_NEWNS, ...) the
// given way. Async-signal-safe.
bool EnterNamespaces(int flags, NamespaceMode mode);

// Tries `enter(mode)` directly, then in a user namespace, each in a
// throwaway child; `what` names the goal in the reason when neither works.
NamespaceProbe ProbeNamespaces(const char* what, const std::function<bool(NamespaceMode)>& enter);

// In a child: a new IPC namespace, made the given way.
bool EnterPrivateIpcNamespace(NamespaceMode mode);

// How this process can make a private IPC namespace (probed once).
const NamespaceProbe& ProbeIpcNamespace();
// nullopt when a private IPC namespace can be made here; otherwise why not.
const std::optional<std::string>& WhyNoPrivateIpcNamespace();

// The same for tests that never write a sysctl: only a fresh namespace is
// needed, so read-only or fixed shm sysctls (a container, gVisor) do not stop them.
const NamespaceProbe& ProbeFreshIpcNamespace();
const std::optional<std::string>& WhyNoFreshIpcNamespace();

// Forks; the child enters a private IPC namespace (as ProbeIpcNamespace, else
// ProbeFreshIpcNamespace, found possible) and runs the body as in RunInChild. The namespace, and every
// segment in it, dies with the child.
ChildOutcome RunInPrivateIpcNamespace(const std::function<void()>& body);

// Records how the namespace is made (gtest property "namespace_mode":
// "direct" or "user_namespace"), so a report can tell a rootless run.
void RecordNamespaceMode(NamespaceMode mode);

// Writes a /proc/sys/kernel value ("shmmax", "shmmni", ...) in the calling
// process's IPC namespace. Async-signal-safe: usable in a child body.
bool WriteKernelSysctl(const char* name, std::uint64_t value);
// Reads one (the first number of "shmmax", "shmmni", ...); async-signal-safe.
bool ReadKernelSysctl(const char* name, std::uint64_t* value);

}  // namespace shmconform

#define SKIP_UNLESS_PRIVATE_IPC_NAMESPACE()                                                    \
  do {                                                                                         \
    if (const auto& why = ::shmconform::WhyNoPrivateIpcNamespace(); why) GTEST_SKIP() << *why; \
    ::shmconform::RecordNamespaceMode(*::shmconform::ProbeIpcNamespace().mode);                \
  } while (0)

#define SKIP_UNLESS_FRESH_IPC_NAMESPACE()                                                    \
  do {                                                                                       \
    if (const auto& why = ::shmconform::WhyNoFreshIpcNamespace(); why) GTEST_SKIP() << *why; \
    ::shmconform::RecordNamespaceMode(*::shmconform::ProbeFreshIpcNamespace().mode);         \
  } while (0)

// For bodies that change uid or rely on the host's capabilities inside the
// namespace: a user namespace maps only the caller and grants capabilities
// only over itself, so those need the namespace made directly.
#define SKIP_UNLESS_PRIVATE_IPC_NAMESPACE_MADE_DIRECTLY()                                                 \
  do {                                                                                                    \
    SKIP_UNLESS_PRIVATE_IPC_NAMESPACE();                                                                  \
    if (*::shmconform::ProbeIpcNamespace().mode != ::shmconform::NamespaceMode::kDirect)                  \
      GTEST_SKIP() << "needs a private IPC namespace made with CAP_SYS_ADMIN; only a user "               \
                      "namespace is available here, where other uids and host capabilities do not exist"; \
  } while (0)
