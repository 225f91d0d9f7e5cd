// Runs code in a private IPC namespace (a fresh set of SysV objects and
// limits), so tests may lower shmmax/shmmni/shmall without touching the host.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "shmconform/child.h"

namespace shmconform {

// nullopt when unshare(CLONE_NEWIPC) works here (probed once in a child).
const std::optional<std::string>& WhyNoPrivateIpcNamespace();

// Forks; the child unshares its IPC namespace and runs the body as in
// RunInChild. The namespace, and every segment in it, dies with the child.
ChildOutcome RunInPrivateIpcNamespace(const std::function<void()>& body);

// Writes a /proc/sys/kernel value ("shmmax", "shmmni", ...) in the calling
// process's IPC namespace. Async-signal-safe: usable in a child body.
bool WriteKernelSysctl(const char* name, std::uint64_t value);

}  // namespace shmconform

#define SKIP_UNLESS_PRIVATE_IPC_NAMESPACE()                                       \
  do {                                                                            \
    if (const auto& why = ::shmconform::WhyNoPrivateIpcNamespace(); why) GTEST_SKIP() << *why; \
  } while (0)
