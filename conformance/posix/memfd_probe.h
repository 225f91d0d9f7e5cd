// The probe every memfd test starts with: memfd_create and its seals came in
// Linux 3.17. On an older release the test skips with that reason; on that
// release or a newer one a memfd_create that fails is a failure.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "shmconform/kernel_version.h"
#include "shmconform/shmconform.h"

namespace shmconform {

// nullopt when memfd_create works, with sealing allowed.
inline const std::optional<std::string>& WhyNoMemfd() {
  static const std::optional<std::string> why = []() -> std::optional<std::string> {
    const int fd = memfd_create("shmconform.probe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd >= 0) {
      close(fd);
      return std::nullopt;
    }
    return "memfd_create(MFD_ALLOW_SEALING) is not available here: " + DescribeErrno(errno);
  }();
  return why;
}

}  // namespace shmconform

#define SKIP_UNLESS_MEMFD()                                             \
  do {                                                                  \
    SKIP_UNLESS_KERNEL_HAS(::shmconform::linux_feature::kMemfdCreate);  \
    if (const auto& why = ::shmconform::WhyNoMemfd(); why)              \
      FEATURE_MISSING(::shmconform::linux_feature::kMemfdCreate, *why); \
  } while (0)
