#include "shmconform/ipc_namespace.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "shmconform/errno_names.h"

namespace shmconform {

const std::optional<std::string>& WhyNoPrivateIpcNamespace() {
  static const std::optional<std::string> why = []() -> std::optional<std::string> {
    const ChildOutcome probe = RunInChild([] {
      if (unshare(CLONE_NEWIPC) != 0) _exit(errno & 0x7f);
    });
    if (probe.exited() && probe.exit_code == 0) return std::nullopt;
    if (probe.exited())
      return "cannot create a private IPC namespace (unshare(CLONE_NEWIPC) failed with " +
             ErrnoName(probe.exit_code) + "; needs CAP_SYS_ADMIN or CONFIG_IPC_NS)";
    return "IPC namespace probe " + probe.Describe();
  }();
  return why;
}

ChildOutcome RunInPrivateIpcNamespace(const std::function<void()>& body) {
  return RunInChild([&] {
    CHILD_CHECK_SUCCESS(unshare(CLONE_NEWIPC));
    body();
  });
}

bool WriteKernelSysctl(const char* name, std::uint64_t value) {
  char path[128] = "/proc/sys/kernel/";
  std::strncat(path, name, sizeof path - std::strlen(path) - 1);
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value);
  char text[24];
  for (int i = 0; i < n; ++i) text[i] = digits[n - 1 - i];
  const int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = write(fd, text, n) == n;
  close(fd);
  return ok;
}

}  // namespace shmconform
