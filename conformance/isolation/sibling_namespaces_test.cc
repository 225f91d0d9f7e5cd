// Two containers alive at the same time: what only namespaces can show. Each
// sibling holds its own limits and enforces them, and neither sees the other's
// segments or POSIX objects. Every namespace is made in a forked child that
// dies with it; the parent releases the siblings step by step through
// Notifications, so both exist (and both have set their state) before either checks.
#include <fcntl.h>
#include <sched.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../posix/posix_shm.h"
#include "isolation.h"
#include "shmconform/shmconform.h"

namespace shmconform {
namespace {

// In a child of its own namespace: sets shmmax to `limit`, says so, and once
// released checks that the namespace still holds it and enforces it.
AsyncChild StartSiblingWithShmmax(NamespaceMode mode, size_t limit, Notification& set, Notification& check) {
  return AsyncChild::Start([&, mode, limit] {
    CHILD_CHECK(EnterPrivateIpcNamespace(mode));
    CHILD_CHECK(WriteKernelSysctl("shmmax", limit));
    set.Notify();
    CHILD_CHECK(check.WaitForNotification());
    std::uint64_t shmmax = 0;
    CHILD_CHECK(ReadKernelSysctl("shmmax", &shmmax));
    CHILD_CHECK_EQ(shmmax, limit);
    CHILD_CHECK_SUCCESS(shmget(IPC_PRIVATE, limit, IPC_CREAT | 0600));
    CHILD_CHECK_ERRNO(shmget(IPC_PRIVATE, limit + PageSize(), IPC_CREAT | 0600), EINVAL);
  });
}

// Both siblings hold a different shmmax at once, set before either checks;
// the small one refuses 3 pages, which the large one allows.
TEST(SiblingNamespacesTest, EachHoldsAndEnforcesItsOwnLimitsAtTheSameTime) {
  REQUIREMENTS("NS.IPC.LIMITS_CONCURRENT");
  SKIP_UNLESS_PRIVATE_IPC_NAMESPACE();
  const NamespaceMode mode = *ProbeIpcNamespace().mode;
  const auto host_shmmax = ReadProcNumber("/proc/sys/kernel/shmmax");
  // Each Notification is made just before the child that uses it, so the
  // other sibling holds no end of it and a child that fails early cannot
  // leave the parent waiting.
  Notification small_set, small_check;
  AsyncChild small = StartSiblingWithShmmax(mode, 2 * PageSize(), small_set, small_check);
  ASSERT_TRUE(small_set.WaitForNotification()) << small.Wait().Describe();
  Notification large_set, large_check;
  AsyncChild large = StartSiblingWithShmmax(mode, 4 * PageSize(), large_set, large_check);
  ASSERT_TRUE(large_set.WaitForNotification()) << large.Wait().Describe();
  small_check.Notify();  // both limits are set now
  large_check.Notify();
  EXPECT_THAT(small.Wait(), ExitedWithCode(0));
  EXPECT_THAT(large.Wait(), ExitedWithCode(0));
  EXPECT_EQ(ReadProcNumber("/proc/sys/kernel/shmmax"), host_shmmax) << "the host's limit must not change";
}

// In a child: a container of its own, a private IPC namespace and a private /dev/shm.
bool EnterContainer(NamespaceMode ipc_mode, NamespaceMode dev_shm_mode) {
  return EnterPrivateIpcNamespace(ipc_mode) && EnterPrivateDevShm(dev_shm_mode);
}

// The same key and the same name in two containers at once: each is free in
// the second although the first holds it, and neither container's content
// reaches the other.
TEST(SiblingNamespacesTest, SegmentsAndPosixObjectsOfOneAreInvisibleInTheOther) {
  REQUIREMENTS("NS.IPC.SIBLINGS_ISOLATED");
  SKIP_UNLESS_PRIVATE_IPC_NAMESPACE();
  SKIP_UNLESS_POSIX_SHM();
  SKIP_UNLESS_PRIVATE_DEV_SHM();
  const NamespaceMode ipc_mode = *ProbeIpcNamespace().mode;
  const NamespaceMode dev_shm_mode = *ProbeDevShmNamespace().mode;
  const key_t key = UniqueIpcKey();
  const std::string name = UniqueShmName("sibling");
  const char* shm_name = name.c_str();
  const size_t page = PageSize();
  // The second container starts once the first has made its objects, and
  // runs while the first waits; only the parent releases the first, so a
  // failing second cannot leave it waiting.
  Notification first_made, first_may_check;
  // Each container writes its tag into a segment and an object of the same
  // key and name, then checks that its own tag is still what it reads.
  auto make = [=](const char* tag) {
    const int id = shmget(key, page, IPC_CREAT | IPC_EXCL | 0600);
    CHILD_CHECK(id >= 0);
    char* seg = static_cast<char*>(shmat(id, nullptr, 0));
    CHILD_CHECK(seg != reinterpret_cast<char*>(-1));
    std::strcpy(seg, tag);
    const int fd = shm_open(shm_name, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHILD_CHECK(fd >= 0);
    CHILD_CHECK_EQ(pwrite(fd, tag, std::strlen(tag) + 1, 0), static_cast<long>(std::strlen(tag) + 1));
    return seg;
  };
  auto own_tag_remains = [=](const char* seg, const char* tag) {
    CHILD_CHECK(std::strcmp(seg, tag) == 0);
    const int fd = shm_open(shm_name, O_RDONLY, 0);
    CHILD_CHECK(fd >= 0);
    char text[16] = {};
    CHILD_CHECK(pread(fd, text, sizeof text - 1, 0) > 0);
    CHILD_CHECK(std::strcmp(text, tag) == 0);
  };
  AsyncChild first = AsyncChild::Start([&] {
    CHILD_CHECK(EnterContainer(ipc_mode, dev_shm_mode));
    const char* seg = make("first");
    first_made.Notify();
    CHILD_CHECK(first_may_check.WaitForNotification());
    own_tag_remains(seg, "first");
  });
  ASSERT_TRUE(first_made.WaitForNotification()) << first.Wait().Describe();
  AsyncChild second = AsyncChild::Start([&] {
    CHILD_CHECK(EnterContainer(ipc_mode, dev_shm_mode));
    CHILD_CHECK_ERRNO(shmget(key, 0, 0), ENOENT);
    CHILD_CHECK_ERRNO(shm_open(shm_name, O_RDONLY, 0), ENOENT);
    const char* seg = make("second");
    own_tag_remains(seg, "second");
  });
  EXPECT_THAT(second.Wait(), ExitedWithCode(0));
  first_may_check.Notify();
  EXPECT_THAT(first.Wait(), ExitedWithCode(0));
  // Nothing of either reached the host.
  EXPECT_THAT(shmget(key, 0, 0), SyscallFailsWithErrno(ENOENT));
  EXPECT_THAT(shm_open(shm_name, O_RDONLY, 0), SyscallFailsWithErrno(ENOENT));
}

}  // namespace
}  // namespace shmconform
