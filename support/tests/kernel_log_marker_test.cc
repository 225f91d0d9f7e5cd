// KernelLogMarker (support/include/shmconform/kernel_log_marker.h): each
// test's start becomes one kernel-log line when SHMCONFORM_KMSG asks for it,
// written to the log it names; a log that cannot be written changes nothing.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/exec_scenario.h"
#include "shmconform/kernel_log_marker.h"
#include "shmconform/owners.h"

namespace shmconform {
namespace {

std::string Contents(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const ::testing::TestInfo& RunningTest() { return *::testing::UnitTest::GetInstance()->current_test_info(); }

// Sets or unsets SHMCONFORM_KMSG for one test, restoring it after.
class KernelLogVariable {
 public:
  explicit KernelLogVariable(const char* value) {
    if (const char* old = std::getenv(kKernelLogVariable)) old_ = old;
    value ? setenv(kKernelLogVariable, value, 1) : unsetenv(kKernelLogVariable);
  }
  ~KernelLogVariable() { old_ ? setenv(kKernelLogVariable, old_->c_str(), 1) : unsetenv(kKernelLogVariable); }

 private:
  std::optional<std::string> old_;
};

TEST(KernelLogMarkerTest, WritesOneNoticeLinePerTestStart) {
  auto log = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create());
  KernelLogMarker marker(log.path());
  marker.OnTestStart(RunningTest());
  marker.OnTestStart(RunningTest());
  EXPECT_EQ(Contents(log.path()),
            "<5>shmconform: test KernelLogMarkerTest.WritesOneNoticeLinePerTestStart\n"
            "<5>shmconform: test KernelLogMarkerTest.WritesOneNoticeLinePerTestStart\n");
}

TEST(KernelLogMarkerTest, UnwritableLogIsLeftAloneAndErrnoKept) {
  auto dir = ASSERT_NO_ERRNO_AND_VALUE(TempDir::Create());
  const std::string missing = dir.path() + "/kmsg";
  errno = ENOTTY;
  KernelLogMarker(missing).OnTestStart(RunningTest());     // never created
  KernelLogMarker(dir.path()).OnTestStart(RunningTest());  // a directory: EISDIR
  EXPECT_EQ(errno, ENOTTY);
  EXPECT_NE(access(missing.c_str(), F_OK), 0);
}

TEST(KernelLogMarkerTest, OnlyWhenTheEnvironmentNamesALog) {
  {
    KernelLogVariable unset(nullptr);
    EXPECT_EQ(KernelLogMarker::FromEnvironment(), nullptr);
  }
  {
    KernelLogVariable empty("");
    EXPECT_EQ(KernelLogMarker::FromEnvironment(), nullptr);
  }
  KernelLogVariable named("/dev/kmsg");
  const auto marker = KernelLogMarker::FromEnvironment();
  ASSERT_NE(marker, nullptr);
  EXPECT_EQ(marker->path(), "/dev/kmsg");
}

// Fixtures for the check below, which runs this binary again to run them.
TEST(KernelLogMarkedTest, First) { SUCCEED(); }
TEST(KernelLogMarkedTest, Second) { SUCCEED(); }

TEST(KernelLogMarkerTest, TheSharedMainMarksEachTestWhenAsked) {
  auto log = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create());
  const std::string command = std::string(kKernelLogVariable) + "='" + log.path() + "' '" + SelfExecutable() +
                              "' --gtest_filter=KernelLogMarkedTest.* > /dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  EXPECT_EQ(Contents(log.path()),
            "<5>shmconform: test KernelLogMarkedTest.First\n"
            "<5>shmconform: test KernelLogMarkedTest.Second\n");
}

}  // namespace
}  // namespace shmconform
