// The running kernel's release (uname), for probes that find a feature
// missing: on a kernel older than the release that added the feature the
// test skips with the reason; on a newer one the same finding is a failure
// (the kernel claims the release but lacks what it added).
//
//   if (mremap(...) == MAP_FAILED && errno == EINVAL)
//     FEATURE_MISSING_SINCE(5, 7, "MREMAP_DONTUNMAP", "mremap fails with EINVAL");
//
// Also the clock-second wait for time stamps compared in whole seconds.
#pragma once

#include <sys/utsname.h>
#include <time.h>

#include <cstdio>
#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace shmconform {

struct KernelRelease {
  int major = 0;
  int minor = 0;
};

// "6.18.44-fc" -> {6, 18}; nullopt when uname fails or the release does not
// start with "<major>.<minor>".
inline std::optional<KernelRelease> RunningKernelRelease() {
  utsname u{};
  if (uname(&u) != 0) return std::nullopt;
  KernelRelease r;
  if (std::sscanf(u.release, "%d.%d", &r.major, &r.minor) != 2) return std::nullopt;
  return r;
}

inline std::string RunningKernelReleaseText() {
  utsname u{};
  return uname(&u) == 0 ? std::string(u.release) : std::string("unknown");
}

// True only when the release is known and at least major.minor.
inline bool KernelIsAtLeast(int major, int minor) {
  const auto r = RunningKernelRelease();
  return r && (r->major > major || (r->major == major && r->minor >= minor));
}

// The first second of CLOCK_REALTIME_COARSE (the clock the kernel stamps IPC
// and file times with) that is later than `stamp`. Waits at most about a
// second past `stamp`, so a field that still holds `stamp` after an operation
// provably was not updated by it. Returns the new second.
inline time_t WaitForClockSecondAfter(time_t stamp) {
  for (;;) {
    timespec now{};
    clock_gettime(CLOCK_REALTIME_COARSE, &now);
    if (now.tv_sec > stamp) return now.tv_sec;
    // Sleep to just past the next second boundary (the coarse clock lags
    // the fine one by up to a tick, hence the loop).
    const timespec rest{0, 1000000000L - now.tv_nsec + 2000000L};
    nanosleep(&rest, nullptr);
  }
}

}  // namespace shmconform

// A probe found `feature` missing (`evidence`: what the kernel said). Skips on
// kernels older than major.minor, fails on kernels that have it.
#define FEATURE_MISSING_SINCE(major, minor, feature, evidence)                                                  \
  do {                                                                                                          \
    if (::shmconform::KernelIsAtLeast(major, minor))                                                            \
      FAIL() << feature << " was added in Linux " #major "." #minor ", but this kernel ("                       \
             << ::shmconform::RunningKernelReleaseText() << ") lacks it: " << evidence;                         \
    GTEST_SKIP() << feature << " is not supported by this kernel (" << ::shmconform::RunningKernelReleaseText() \
                 << "; added in Linux " #major "." #minor "): " << evidence;                                    \
  } while (0)
