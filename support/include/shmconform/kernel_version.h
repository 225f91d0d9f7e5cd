// The Linux release that added each feature the suite tests and an older
// kernel lacks, and the gate every test of such a feature starts with: on a
// kernel whose release (uname) is older the test skips and says why; on the
// release that added it or a newer one the test runs, so a kernel that
// claims the release but lacks the feature fails.
//
//   SKIP_UNLESS_KERNEL_HAS(linux_feature::kMremapDontunmap);
//   if (mremap(...) == MAP_FAILED && errno == EINVAL)
//     FEATURE_MISSING(linux_feature::kMremapDontunmap, "mremap fails with EINVAL");
//
// A table row (TEST_P) names its feature in a `needs` field instead.
// Also the clock-second wait for time stamps compared in whole seconds.
#pragma once

#include <sys/utsname.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace shmconform {

// A feature or behaviour Linux added in release major.minor.
struct LinuxFeature {
  const char* name;
  int major;
  int minor;
};

// Every feature the suite gates, in one place. The release is the one the man
// page named states (Linux man-pages 6.03, Debian 12's manpages-dev, unless
// said otherwise). Features older than these (SHM_EXEC 2.6.9, MAP_HUGETLB
// 2.6.32, mremap old_size 0 on a shared mapping) need no gate.
namespace linux_feature {
// memfd_create(2) VERSIONS; fcntl(2) F_ADD_SEALS / F_GET_SEALS "since Linux 3.17".
inline constexpr LinuxFeature kMemfdCreate{"memfd_create (and its seals)", 3, 17};
// mremap(2) BUGS: "Since Linux 4.14" old_size 0 on a private mapping fails
// with EINVAL (before, it made a new, unrelated private mapping).
inline constexpr LinuxFeature kMremapDuplicatePrivateEinval{
    "mremap failing with EINVAL for old_size 0 on a private mapping", 4, 14};
// madvise(2) "MADV_WIPEONFORK (since Linux 4.14)", with MADV_KEEPONFORK.
inline constexpr LinuxFeature kMadvWipeonfork{"MADV_WIPEONFORK", 4, 14};
// mmap(2) "MAP_SHARED_VALIDATE (since Linux 4.15)".
inline constexpr LinuxFeature kMapSharedValidate{"MAP_SHARED_VALIDATE", 4, 15};
// mmap(2) "MAP_FIXED_NOREPLACE (since Linux 4.17)".
inline constexpr LinuxFeature kMapFixedNoreplace{"MAP_FIXED_NOREPLACE", 4, 17};
// shmctl(2) "SHM_STAT_ANY (Linux-specific, since Linux 4.17)".
inline constexpr LinuxFeature kShmStatAny{"SHM_STAT_ANY", 4, 17};
// fcntl(2) "F_SEAL_FUTURE_WRITE (since Linux 5.1)".
inline constexpr LinuxFeature kSealFutureWrite{"F_SEAL_FUTURE_WRITE", 5, 1};
// mremap(2) "MREMAP_DONTUNMAP (since Linux 5.7)" (private anonymous mappings;
// other mappings since 5.13, which no test uses).
inline constexpr LinuxFeature kMremapDontunmap{"MREMAP_DONTUNMAP", 5, 7};
// Not in man-pages 6.03: Documentation/userspace-api/mfd_noexec.rst, and the
// patch series "mm/memfd: introduce MFD_NOEXEC_SEAL and MFD_EXEC" (January
// 2023, F_SEAL_EXEC included), merged for Linux 6.3.
inline constexpr LinuxFeature kMfdNoexecSeal{"MFD_NOEXEC_SEAL", 6, 3};
inline constexpr LinuxFeature kSealExec{"F_SEAL_EXEC", 6, 3};
}  // namespace linux_feature

// Set only by tests of these gates: a release that replaces uname's, so a
// gate can be seen on any kernel. Every message naming the release says so.
inline constexpr const char* kFakeKernelReleaseVariable = "SHMCONFORM_FAKE_KERNEL_RELEASE";

struct KernelRelease {
  int major = 0;
  int minor = 0;
};

// "6.18.44-fc" -> {6, 18}; nullopt when it does not start with "<major>.<minor>".
inline std::optional<KernelRelease> ParseKernelRelease(const std::string& release) {
  KernelRelease r;
  if (std::sscanf(release.c_str(), "%d.%d", &r.major, &r.minor) != 2) return std::nullopt;
  return r;
}

// uname's release ("unknown" when uname fails), or the fake one, marked.
inline std::string RunningKernelReleaseText() {
  if (const char* fake = std::getenv(kFakeKernelReleaseVariable); fake && *fake)
    return std::string(fake) + " (faked by $" + kFakeKernelReleaseVariable + ")";
  utsname u{};
  return uname(&u) == 0 ? std::string(u.release) : std::string("unknown");
}

inline std::optional<KernelRelease> RunningKernelRelease() { return ParseKernelRelease(RunningKernelReleaseText()); }

// Why the running kernel cannot have `feature` ("MAP_FIXED_NOREPLACE needs
// Linux 4.17; this kernel is 4.4.0"); nullopt when its release is that one or
// newer, or cannot be read (then the test runs and shows what the kernel does).
inline std::optional<std::string> WhyKernelTooOld(const LinuxFeature& feature) {
  const auto r = RunningKernelRelease();
  if (!r || r->major > feature.major || (r->major == feature.major && r->minor >= feature.minor)) return std::nullopt;
  return std::string(feature.name) + " needs Linux " + std::to_string(feature.major) + "." +
         std::to_string(feature.minor) + "; this kernel is " + RunningKernelReleaseText();
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

// Skips the test, with the reason, on a kernel older than the release that
// added `feature` (a LinuxFeature); does nothing on a newer one.
#define SKIP_UNLESS_KERNEL_HAS(feature)                                                                        \
  do {                                                                                                         \
    if (const auto shmconform_why_ = ::shmconform::WhyKernelTooOld(feature)) GTEST_SKIP() << *shmconform_why_; \
  } while (0)

// A probe found `feature` missing (`evidence`: what the kernel said). Fails on
// a kernel new enough to have it; skips on an older one, as the gate at the
// start of the test already would have. The message does not blame the kernel
// alone: under qemu-user or gVisor, uname's release is the emulator's claim.
#define FEATURE_MISSING(feature, evidence)                                                          \
  do {                                                                                              \
    SKIP_UNLESS_KERNEL_HAS(feature);                                                                \
    FAIL() << (feature).name << " was added in Linux " << (feature).major << "." << (feature).minor \
           << ", but this system (uname: " << ::shmconform::RunningKernelReleaseText()              \
           << "; the kernel or an emulator or sandbox in between) lacks it: " << evidence;          \
  } while (0)
