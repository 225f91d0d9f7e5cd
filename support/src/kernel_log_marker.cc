#include "shmconform/kernel_log_marker.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace shmconform {

std::unique_ptr<KernelLogMarker> KernelLogMarker::FromEnvironment() {
  const char* path = std::getenv(kKernelLogVariable);
  if (path == nullptr || *path == '\0') return nullptr;
  return std::make_unique<KernelLogMarker>(path);
}

void KernelLogMarker::OnTestStart(const ::testing::TestInfo& test) {
  const std::string line = std::string("<5>shmconform: test ") + test.test_suite_name() + "." + test.name() + "\n";
  // Opened per test, never created, and closed at once: no descriptor of
  // ours stays open in a test that counts or closes descriptors, and the
  // kernel's /dev/kmsg rate limit (a burst of 10 per open file) never drops
  // a marker. errno is kept, since a test may look at it before its first call.
  const int saved_errno = errno;
  const int fd = open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY);
  if (fd >= 0) {
    // /dev/kmsg takes one record per write(2).
    (void)!write(fd, line.data(), line.size());
    close(fd);
  }
  errno = saved_errno;
}

}  // namespace shmconform
