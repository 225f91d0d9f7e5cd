#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/owners.h"
#include "shmconform/privileges.h"

namespace shmconform {
namespace {

TEST(PrivilegesTest, ChildRunsAsTheUnprivilegedIds) {
  SKIP_UNLESS_CAN_CHANGE_UID();
  EXPECT_THAT(RunAsUser([] {
                CHILD_CHECK(getuid() == kUnprivilegedUid && geteuid() == kUnprivilegedUid);
                CHILD_CHECK(getgid() == kUnprivilegedGid && getegid() == kUnprivilegedGid);
                CHILD_CHECK(getgroups(0, nullptr) == 0);
              }),
              ExitedWithCode(0));
  EXPECT_EQ(geteuid(), 0u) << "the parent keeps its identity";
}

TEST(PrivilegesTest, OtherIdsAreHonoured) {
  SKIP_UNLESS_CAN_CHANGE_UID();
  EXPECT_THAT(RunAsUser([] { CHILD_CHECK(geteuid() == 4321 && getegid() == 8765); }, 4321, 8765), ExitedWithCode(0));
}

TEST(PrivilegesTest, DroppedChildIsSubjectToPermissionChecks) {
  SKIP_UNLESS_CAN_CHANGE_UID();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, 1, IPC_CREAT | 0600));
  const int id = seg.id();
  EXPECT_THAT(RunAsUser([id] { CHILD_CHECK_ERRNO(shmat(id, nullptr, 0), EACCES); }), ExitedWithCode(0));
}

TEST(PrivilegesTest, ProbeExplainsWhyNot) {
  const auto& why = WhyCannotChangeUid();
  if (geteuid() != 0) {
    ASSERT_TRUE(why.has_value());
    EXPECT_THAT(*why, ::testing::HasSubstr("needs root"));
  } else if (why) {
    EXPECT_THAT(*why, ::testing::HasSubstr("cannot switch"));
  }
}

}  // namespace
}  // namespace shmconform
