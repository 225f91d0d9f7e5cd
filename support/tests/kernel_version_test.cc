// The kernel release gate (support/include/shmconform/kernel_version.h): a
// kernel older than the release that added a feature skips the test with the
// reason; the release that added it, or a newer one, runs it, so a probe that
// finds the feature missing fails. The release is faked through
// $SHMCONFORM_FAKE_KERNEL_RELEASE.
#include <stdlib.h>

#include <optional>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "shmconform/kernel_version.h"

namespace shmconform {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;
using ::testing::StartsWith;

constexpr LinuxFeature kFeature{"MAP_FIXED_NOREPLACE", 4, 17};

// Sets $SHMCONFORM_FAKE_KERNEL_RELEASE for its lifetime.
class FakeRelease {
 public:
  explicit FakeRelease(const char* release) { setenv(kFakeKernelReleaseVariable, release, 1); }
  ~FakeRelease() { unsetenv(kFakeKernelReleaseVariable); }
};

// What a test body reported: every result gtest recorded while it ran, and
// whether it went past the gate.
struct Reported {
  ::testing::TestPartResultArray results;
  bool went_on = false;
};

void GateThenContinue(bool* went_on) {
  SKIP_UNLESS_KERNEL_HAS(kFeature);
  *went_on = true;
}

void ProbeFoundItMissing(bool* went_on) {
  FEATURE_MISSING(kFeature, "mmap ignores the flag");
  *went_on = true;
}

void RunBody(void (*body)(bool*), Reported* r) {
  ::testing::ScopedFakeTestPartResultReporter reporter(
      ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &r->results);
  body(&r->went_on);
}

TEST(KernelVersionTest, ParsesMajorAndMinorFromTheRelease) {
  const auto r = ParseKernelRelease("6.18.44-fc");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->major, 6);
  EXPECT_EQ(r->minor, 18);
  EXPECT_FALSE(ParseKernelRelease("unknown").has_value());
  EXPECT_FALSE(ParseKernelRelease("6").has_value());
}

TEST(KernelVersionTest, FakeReleaseReplacesUnameAndSaysSo) {
  FakeRelease fake("4.4.0");
  EXPECT_EQ(RunningKernelReleaseText(), "4.4.0 (faked by $SHMCONFORM_FAKE_KERNEL_RELEASE)");
  const auto r = RunningKernelRelease();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->major, 4);
  EXPECT_EQ(r->minor, 4);
}

TEST(KernelVersionTest, OlderReleaseGivesTheReason) {
  FakeRelease fake("4.4.0");
  EXPECT_THAT(WhyKernelTooOld(kFeature),
              Optional(std::string("MAP_FIXED_NOREPLACE needs Linux 4.17; this kernel is 4.4.0 "
                                   "(faked by $SHMCONFORM_FAKE_KERNEL_RELEASE)")));
}

TEST(KernelVersionTest, ReleaseBoundaries) {
  for (const char* older : {"4.16.18", "3.17.0", "4.0"}) {
    FakeRelease fake(older);
    EXPECT_TRUE(WhyKernelTooOld(kFeature).has_value()) << older;
  }
  for (const char* same_or_newer : {"4.17.0", "4.17", "4.20.1", "5.0.0", "6.1.0-13-amd64"}) {
    FakeRelease fake(same_or_newer);
    EXPECT_EQ(WhyKernelTooOld(kFeature), std::nullopt) << same_or_newer;
  }
  // A release that cannot be read runs the test: what the kernel does shows.
  FakeRelease fake("custom-build");
  EXPECT_EQ(WhyKernelTooOld(kFeature), std::nullopt);
}

TEST(KernelVersionTest, GateSkipsWithTheReasonOnAnOlderKernel) {
  FakeRelease fake("4.4.0");
  Reported r;
  RunBody(GateThenContinue, &r);
  ASSERT_EQ(r.results.size(), 1);
  EXPECT_TRUE(r.results.GetTestPartResult(0).skipped());
  EXPECT_THAT(r.results.GetTestPartResult(0).message(),
              StartsWith("MAP_FIXED_NOREPLACE needs Linux 4.17; this kernel is 4.4.0"));
  EXPECT_FALSE(r.went_on);
}

TEST(KernelVersionTest, GateLetsTheTestRunOnANewEnoughKernel) {
  FakeRelease fake("4.17.0");
  Reported r;
  RunBody(GateThenContinue, &r);
  EXPECT_EQ(r.results.size(), 0);
  EXPECT_TRUE(r.went_on);
}

TEST(KernelVersionTest, MissingFeatureFailsOnANewEnoughKernel) {
  FakeRelease fake("6.1.0");
  Reported r;
  RunBody(ProbeFoundItMissing, &r);
  ASSERT_EQ(r.results.size(), 1);
  EXPECT_TRUE(r.results.GetTestPartResult(0).fatally_failed());
  EXPECT_THAT(r.results.GetTestPartResult(0).message(),
              HasSubstr("MAP_FIXED_NOREPLACE was added in Linux 4.17, but this system (uname: 6.1.0 "));
  EXPECT_THAT(r.results.GetTestPartResult(0).message(), HasSubstr("lacks it: mmap ignores the flag"));
  EXPECT_FALSE(r.went_on);
}

TEST(KernelVersionTest, MissingFeatureSkipsOnAnOlderKernel) {
  FakeRelease fake("4.16.0");
  Reported r;
  RunBody(ProbeFoundItMissing, &r);
  ASSERT_EQ(r.results.size(), 1);
  EXPECT_TRUE(r.results.GetTestPartResult(0).skipped());
  EXPECT_THAT(r.results.GetTestPartResult(0).message(), StartsWith("MAP_FIXED_NOREPLACE needs Linux 4.17"));
  EXPECT_FALSE(r.went_on);
}

}  // namespace
}  // namespace shmconform
