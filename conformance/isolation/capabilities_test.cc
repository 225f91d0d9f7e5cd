// capabilities(7) for System V shared memory: CAP_IPC_OWNER bypasses the
// mode checks, and SHM_LOCK needs CAP_IPC_LOCK or room in RLIMIT_MEMLOCK.
// A root child drops the one capability with capset, keeping uid 0, so the
// only difference from the privileged case is that capability.
#include <linux/capability.h>
#include <sys/ipc.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "isolation.h"
#include "shmconform/shmconform.h"

namespace shmconform {
namespace {

TEST(CapIpcOwnerTest, BypassesTheModeOfASegment) {
  REQUIREMENTS("PRIV.CAP_IPC_OWNER.BYPASS");
  SKIP_UNLESS_CAPABILITY(CAP_IPC_OWNER);
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0000));
  shmid_ds ds{};
  EXPECT_THAT(shmctl(seg.id(), IPC_STAT, &ds), SyscallSucceeds());
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id()));
  att.as<char>()[0] = 'w';  // attached read-write despite mode 0000
}

struct ModeCase {
  mode_t mode;
  int shmflg;
  int expected_errno;  // 0: shmat succeeds
};

class CapIpcOwnerDroppedTest : public ::testing::TestWithParam<ModeCase> {};

TEST_P(CapIpcOwnerDroppedTest, RootIsSubjectToTheMode) {
  REQUIREMENTS("PRIV.CAP_IPC_OWNER.DROPPED");
  SKIP_UNLESS_CAPABILITY(CAP_IPC_OWNER);
  const ModeCase c = GetParam();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | c.mode));
  const int id = seg.id();
  EXPECT_THAT(RunInChild([id, c] {
                CHILD_CHECK(DropCapability(CAP_IPC_OWNER));
                CHILD_CHECK(geteuid() == 0);
                CHILD_CHECK_RESULT(shmat(id, nullptr, c.shmflg), c.expected_errno);
                shmid_ds ds{};
                CHILD_CHECK_RESULT(shmctl(id, IPC_STAT, &ds), (c.mode & 0400) ? 0 : EACCES);
              }),
              ExitedWithCode(0));
}

// The owner's bits apply to root as the segment's owner.
INSTANTIATE_TEST_SUITE_P(Modes, CapIpcOwnerDroppedTest,
                         ::testing::Values(ModeCase{0000, 0, EACCES}, ModeCase{0000, SHM_RDONLY, EACCES},
                                           ModeCase{0400, 0, EACCES}, ModeCase{0400, SHM_RDONLY, 0},
                                           ModeCase{0600, 0, 0}, ModeCase{0077, SHM_RDONLY, EACCES}));

TEST(CapIpcLockTest, LocksWithoutAnyMemlockAllowance) {
  REQUIREMENTS("PRIV.SHM_LOCK.CAPABILITY");
  SKIP_UNLESS_CAPABILITY(CAP_IPC_LOCK);
  SKIP_UNLESS_PRIVATE_IPC_NAMESPACE_MADE_DIRECTLY();
  const size_t page = PageSize();
  // In a namespace of its own, so a failed check leaves no locked segment behind.
  EXPECT_THAT(RunInPrivateIpcNamespace([page] {
                const rlimit none{0, 0};
                CHILD_CHECK_SUCCESS(setrlimit(RLIMIT_MEMLOCK, &none));
                const int id = shmget(IPC_PRIVATE, page, IPC_CREAT | 0600);
                CHILD_CHECK(id >= 0);
                CHILD_CHECK_SUCCESS(shmctl(id, SHM_LOCK, nullptr));
                CHILD_CHECK_SUCCESS(shmctl(id, SHM_UNLOCK, nullptr));
                CHILD_CHECK(DropCapability(CAP_IPC_LOCK));
                CHILD_CHECK_ERRNO(shmctl(id, SHM_LOCK, nullptr), EPERM);
              }),
              ExitedWithCode(0));
}

}  // namespace
}  // namespace shmconform
