#include "shmconform/ipc_namespace.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <gtest/gtest.h>

#include "shmconform/async_safe_text.h"
#include "shmconform/environment_probes.h"
#include "shmconform/errno_names.h"

namespace shmconform {
namespace {

bool WriteWholeFile(const char* path, const char* text) {
  const int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const size_t len = std::strlen(text);
  const bool ok = write(fd, text, len) == static_cast<ssize_t>(len);
  close(fd);
  return ok;
}

// "0 <id> 1": root in the new user namespace is `id` outside it.
bool WriteIdMap(const char* path, unsigned id) {
  AsyncSafeText text("0 ");
  text.AppendUnsigned(id).Append(" 1");
  return WriteWholeFile(path, text.c_str());
}

}  // namespace

bool EnterNamespaces(int flags, NamespaceMode mode) {
  if (mode == NamespaceMode::kDirect) return unshare(flags) == 0;
  const uid_t uid = geteuid();
  const gid_t gid = getegid();
  return unshare(CLONE_NEWUSER | flags) == 0 && WriteWholeFile("/proc/self/setgroups", "deny") &&
         WriteIdMap("/proc/self/uid_map", uid) && WriteIdMap("/proc/self/gid_map", gid);
}

NamespaceProbe ProbeNamespaces(const char* what, const std::function<bool(NamespaceMode)>& enter) {
  std::string tried;
  for (NamespaceMode mode : {NamespaceMode::kDirect, NamespaceMode::kUserNamespace}) {
    const ChildOutcome probe = RunInChild([&] {
      errno = 0;
      if (!enter(mode)) _exit(errno & 0x7f);
    });
    if (probe.exited() && probe.exit_code == 0) return {mode, {}};
    tried += std::string(tried.empty() ? "" : ", ") +
             (mode == NamespaceMode::kDirect ? "directly: " : "in a user namespace: ") +
             (probe.exited() ? ErrnoName(probe.exit_code) : probe.Describe());
  }
  return {std::nullopt,
          std::string("cannot make ") + what + " (" + tried +
              "): unshare needs CAP_SYS_ADMIN and kernel support for the namespace, and no usable user namespace "
              "either (user.max_user_namespaces, or the kernel refuses unprivileged ones)"};
}

bool EnterPrivateIpcNamespace(NamespaceMode mode) { return EnterNamespaces(CLONE_NEWIPC, mode); }

namespace {

// In the probe's child: a private IPC namespace whose shm sysctls this
// process may write (rewritten with their own value, so nothing changes).
bool EnterWritableIpcNamespace(NamespaceMode mode) {
  std::uint64_t shmmni = 0;
  if (!EnterPrivateIpcNamespace(mode) || !ReadKernelSysctl("shmmni", &shmmni) || !WriteKernelSysctl("shmmni", shmmni))
    return false;
  // shm_next_id is optional (CONFIG_CHECKPOINT_RESTORE); writing it would use it up.
  return access("/proc/sys/kernel/shm_next_id", F_OK) != 0 || access("/proc/sys/kernel/shm_next_id", W_OK) == 0;
}

}  // namespace

const NamespaceProbe& ProbeIpcNamespace() {
  static const NamespaceProbe probe =
      ProbeNamespaces("a private IPC namespace (CLONE_NEWIPC) with writable shm sysctls", EnterWritableIpcNamespace);
  return probe;
}

const std::optional<std::string>& WhyNoPrivateIpcNamespace() {
  static const std::optional<std::string> why = []() -> std::optional<std::string> {
    if (ProbeIpcNamespace().mode) return std::nullopt;
    // The namespace can be made but its sysctls are read-only or fixed (a container's
    // /proc/sys, gVisor): say that, not that unshare needs CAP_SYS_ADMIN.
    const ShmSysctlProbe& sysctls = ProbeShmSysctls();
    if (sysctls.namespace_made && sysctls.why_not) return sysctls.why_not;
    return ProbeIpcNamespace().why_not;
  }();
  return why;
}

const NamespaceProbe& ProbeFreshIpcNamespace() {
  static const NamespaceProbe probe =
      ProbeNamespaces("a private IPC namespace (CLONE_NEWIPC)", EnterPrivateIpcNamespace);
  return probe;
}

const std::optional<std::string>& WhyNoFreshIpcNamespace() {
  static const std::optional<std::string> why =
      ProbeFreshIpcNamespace().mode ? std::nullopt : std::optional<std::string>(ProbeFreshIpcNamespace().why_not);
  return why;
}

ChildOutcome RunInPrivateIpcNamespace(const std::function<void()>& body) {
  const std::optional<NamespaceMode> mode =
      ProbeIpcNamespace().mode ? ProbeIpcNamespace().mode : ProbeFreshIpcNamespace().mode;
  return RunInChild([&] {
    if (!mode) ChildCheckReport("no private IPC namespace can be made here (use SKIP_UNLESS_PRIVATE_IPC_NAMESPACE)");
    CHILD_CHECK_SUCCESS(EnterPrivateIpcNamespace(*mode) ? 0 : -1);
    body();
  });
}

void RecordNamespaceMode(NamespaceMode mode) {
  ::testing::Test::RecordProperty("namespace_mode", mode == NamespaceMode::kDirect ? "direct" : "user_namespace");
}

bool WriteKernelSysctl(const char* name, std::uint64_t value) {
  AsyncSafeText path("/proc/sys/kernel/");
  path.Append(name);
  AsyncSafeText text;
  text.AppendUnsigned(value);
  return WriteWholeFile(path.c_str(), text.c_str());
}

}  // namespace shmconform

namespace shmconform {

bool ReadKernelSysctl(const char* name, std::uint64_t* value) {
  AsyncSafeText path("/proc/sys/kernel/");
  path.Append(name);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[64];
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  std::uint64_t number = 0;
  ssize_t i = 0;
  for (; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) number = number * 10 + static_cast<unsigned>(buf[i] - '0');
  *value = number;
  return i > 0;
}

}  // namespace shmconform
