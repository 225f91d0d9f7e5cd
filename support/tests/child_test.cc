#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/child.h"
#include "shmconform/owners.h"
#include "shmconform/system_info.h"

namespace shmconform {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RunInChildTest, ReturningBodyExitsZero) {
  EXPECT_THAT(RunInChild([] {}), ExitedWithCode(0));
}

TEST(RunInChildTest, ExitCodeIsReported) {
  EXPECT_THAT(RunInChild([] { _exit(7); }), ExitedWithCode(7));
  EXPECT_THAT(RunInChild([] { _exit(7); }), Not(ExitedWithCode(0)));
}

TEST(RunInChildTest, FailedCheckReportsWhereAndWhat) {
  const ChildOutcome outcome = RunInChild([] { CHILD_CHECK(1 + 1 == 3); });
  EXPECT_THAT(outcome, ExitedWithCode(kChildCheckFailedExit));
  EXPECT_THAT(outcome.check_failure, HasSubstr("child_test.cc:"));
  EXPECT_THAT(outcome.check_failure, HasSubstr("1 + 1 == 3"));
}

TEST(RunInChildTest, FailedErrnoCheckNamesTheActualErrno) {
  const ChildOutcome outcome = RunInChild([] { CHILD_CHECK_ERRNO(close(-1), EPERM); });
  EXPECT_THAT(outcome, ExitedWithCode(kChildCheckFailedExit));
  EXPECT_THAT(outcome.check_failure, HasSubstr("close(-1): expected failure with EPERM, got EBADF"));
}

TEST(RunInChildTest, FailedErrnoCheckNamesTheExpectedErrnoNotItsExpression) {
  const int expected_errno = EACCES;
  const ChildOutcome outcome = RunInChild([&] { CHILD_CHECK_ERRNO(close(-1), expected_errno); });
  EXPECT_THAT(outcome.check_failure, HasSubstr("expected failure with EACCES, got EBADF"));
  EXPECT_THAT(outcome.check_failure, Not(HasSubstr("expected_errno")));
}

TEST(RunInChildTest, ErrnoCheckOfACallThatSucceededSaysWhatItReturned) {
  const ChildOutcome outcome = RunInChild([] { CHILD_CHECK_ERRNO(getpid() * 0 + 5, ENOENT); });
  EXPECT_THAT(outcome.check_failure, HasSubstr("expected failure with ENOENT, got success (returned 5)"));
}

TEST(RunInChildTest, FailedSuccessCheckNamesTheErrno) {
  const ChildOutcome outcome = RunInChild([] { CHILD_CHECK_SUCCESS(close(-1)); });
  EXPECT_THAT(outcome, ExitedWithCode(kChildCheckFailedExit));
  EXPECT_THAT(outcome.check_failure, HasSubstr("close(-1): expected success, got EBADF"));
}

TEST(RunInChildTest, FailedEqualityCheckShowsBothValues) {
  const ChildOutcome outcome = RunInChild([] {
    const int three = 3;
    CHILD_CHECK_EQ(three + 1, -3);
  });
  EXPECT_THAT(outcome.check_failure, HasSubstr("three + 1 == -3: expected -3, got 4"));
}

TEST(WaitForChildTest, AFailingWaitIsReportedNotTakenForExitZero) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[1]);
  // Not our child: waitpid fails with ECHILD.
  const ChildOutcome outcome = WaitForChild(1, fds[0]);
  EXPECT_THAT(outcome, Not(ExitedWithCode(0)));
  EXPECT_THAT(outcome.Describe(), HasSubstr("ECHILD"));
}

TEST(RunInChildTest, AccessToUnmappedPageIsSegvMaperrAtThatAddress) {
  auto m = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE));
  volatile char* p = m.bytes() + 5;
  m.reset();
  EXPECT_THAT(RunInChild([&] { (void)*p; }), FaultedWith(SIGSEGV, SEGV_MAPERR, p));
}

TEST(RunInChildTest, WriteToReadOnlyPageIsSegvAccerr) {
  auto m = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), PROT_READ, MAP_PRIVATE));
  volatile char* p = m.bytes();
  const ChildOutcome outcome = RunInChild([&] { *p = 1; });
  EXPECT_THAT(outcome, FaultedWith(SIGSEGV, SEGV_ACCERR, p));
  EXPECT_THAT(outcome, Not(FaultedWith(SIGSEGV, SEGV_MAPERR)));
  EXPECT_THAT(outcome, Not(FaultedWith(SIGSEGV, SEGV_ACCERR, p + 1)));
}

TEST(RunInChildTest, SignalSentByKillIsReportedAsSiUser) {
  const ChildOutcome outcome = RunInChild([] { kill(getpid(), SIGBUS); });
  EXPECT_THAT(outcome, KilledBySignal(SIGBUS));
  EXPECT_THAT(outcome, FaultedWith(SIGBUS, SI_USER));
}

TEST(RunInChildTest, UncaughtSignalWithoutSiginfo) {
  const ChildOutcome outcome = RunInChild([] { kill(getpid(), SIGKILL); });
  EXPECT_THAT(outcome, KilledBySignal(SIGKILL));
  EXPECT_FALSE(outcome.has_siginfo);
  EXPECT_EQ(outcome.Describe(), "killed by SIGKILL");
}

TEST(RunInChildTest, DescribeNamesSignalCodeAndAddress) {
  auto m = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), PROT_NONE, MAP_PRIVATE));
  volatile char* p = m.bytes();
  const std::string text = RunInChild([&] { (void)*p; }).Describe();
  EXPECT_THAT(text, HasSubstr("killed by SIGSEGV (SEGV_ACCERR at 0x"));
}

}  // namespace
}  // namespace shmconform
