// The probe every shm_open/shm_unlink test starts with: POSIX shm needs a
// tmpfs at /dev/shm (glibc and musl keep objects there), which a bare
// initramfs may lack. Without it the tests skip with that reason.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>

#include <optional>
#include <string>

#include "shmconform/shmconform.h"

namespace shmconform {

inline const std::optional<std::string>& WhyNoPosixShm() {
  static const std::optional<std::string> why = []() -> std::optional<std::string> {
    const std::string name = UniqueShmName("probe");
    const int fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
      return "shm_open cannot create objects here (" + DescribeErrno(errno) + "); is a tmpfs mounted on /dev/shm?";
    close(fd);
    shm_unlink(name.c_str());
    return std::nullopt;
  }();
  return why;
}

}  // namespace shmconform

#define SKIP_UNLESS_POSIX_SHM()                                                     \
  do {                                                                              \
    if (const auto& why = ::shmconform::WhyNoPosixShm(); why) GTEST_SKIP() << *why; \
  } while (0)
