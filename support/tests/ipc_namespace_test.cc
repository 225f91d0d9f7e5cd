#include <sys/ipc.h>
#include <sys/shm.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/ipc_namespace.h"
#include "shmconform/owners.h"
#include "shmconform/system_info.h"
#include "shmconform/unique_names.h"

namespace shmconform {
namespace {

TEST(IpcNamespaceTest, HostSegmentIsInvisibleInsideAndLimitsArePrivate) {
  SKIP_UNLESS_PRIVATE_IPC_NAMESPACE();
  const key_t key = UniqueIpcKey();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(key, 1, IPC_CREAT | 0600));
  const auto host_shmmni = ReadProcNumber("/proc/sys/kernel/shmmni");
  EXPECT_THAT(RunInPrivateIpcNamespace([key] {
                CHILD_CHECK_ERRNO(shmget(key, 0, 0), ENOENT);
                CHILD_CHECK(WriteKernelSysctl("shmmni", 7));
              }),
              ExitedWithCode(0));
  EXPECT_EQ(ReadProcNumber("/proc/sys/kernel/shmmni"), host_shmmni) << "the host's limit must not change";
}

TEST(IpcNamespaceTest, SysctlWriteTakesEffectInTheNamespace) {
  SKIP_UNLESS_PRIVATE_IPC_NAMESPACE();
  EXPECT_THAT(RunInPrivateIpcNamespace([] {
                CHILD_CHECK(WriteKernelSysctl("shmmax", 8192));
                CHILD_CHECK_ERRNO(shmget(IPC_PRIVATE, 8193, IPC_CREAT | 0600), EINVAL);
              }),
              ExitedWithCode(0));
}

TEST(IpcNamespaceTest, ProbeReasonNamesTheCall) {
  if (const auto& why = WhyNoPrivateIpcNamespace()) {
    EXPECT_THAT(*why, ::testing::HasSubstr("CLONE_NEWIPC"));
  }
}

}  // namespace
}  // namespace shmconform
