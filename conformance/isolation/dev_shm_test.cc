// /dev/shm as a container sees it: POSIX shm objects are files in the /dev/shm
// of the caller's mount namespace, so a private /dev/shm hides the host's.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

TEST(DevShmTest, ObjectIsTheFileOfItsNameInDevShm) {
  REQUIREMENTS("NS.DEVSHM.LOCATION");
  SKIP_UNLESS_POSIX_SHM();
  struct stat dir {};
  if (stat("/dev/shm", &dir) != 0) GTEST_SKIP() << "there is no /dev/shm here";
  auto shm = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(UniqueShmName("where"), O_RDWR | O_CREAT | O_EXCL, 0600));
  ASSERT_THAT(ftruncate(shm.fd(), 3 * PageSize()), SyscallSucceeds());
  struct stat by_fd {};
  struct stat by_path {};
  ASSERT_THAT(fstat(shm.fd(), &by_fd), SyscallSucceeds());
  const std::string path = "/dev/shm" + shm.name();
  ASSERT_THAT(stat(path.c_str(), &by_path), SyscallSucceeds());
  EXPECT_EQ(by_path.st_dev, by_fd.st_dev);
  EXPECT_EQ(by_path.st_ino, by_fd.st_ino);
  EXPECT_EQ(by_path.st_size, static_cast<off_t>(3 * PageSize()));
  ASSERT_THAT(shm_unlink(shm.name().c_str()), SyscallSucceeds());
  EXPECT_THAT(access(path.c_str(), F_OK), SyscallFailsWithErrno(ENOENT));
}

TEST(DevShmTest, PrivateDevShmHidesTheHostsObjectsAndKeepsItsOwn) {
  REQUIREMENTS("NS.DEVSHM.PRIVATE");
  SKIP_UNLESS_POSIX_SHM();
  SKIP_UNLESS_PRIVATE_DEV_SHM();
  const NamespaceMode mode = *ProbeDevShmNamespace().mode;
  auto host = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(UniqueShmName("host"), O_RDWR | O_CREAT | O_EXCL, 0600));
  ASSERT_THAT(pwrite(host.fd(), "host data", 10, 0), SyscallSucceedsWithValue(10));
  const std::string inner = UniqueShmName("inner");
  Cleanup unlink_inner([inner] { shm_unlink(inner.c_str()); });  // only if it leaked to the host
  const char* host_name = host.name().c_str();
  const char* inner_name = inner.c_str();
  EXPECT_THAT(RunInChild([=] {
                CHILD_CHECK(EnterPrivateDevShm(mode));
                CHILD_CHECK_ERRNO(shm_open(host_name, O_RDWR, 0), ENOENT);
                // The host's name is free here: a new, empty object.
                const int fd = shm_open(host_name, O_RDWR | O_CREAT | O_EXCL, 0600);
                CHILD_CHECK(fd >= 0);
                CHILD_CHECK(pwrite(fd, "container", 10, 0) == 10);
                CHILD_CHECK(shm_open(inner_name, O_RDWR | O_CREAT | O_EXCL, 0600) >= 0);
              }),
              ExitedWithCode(0));
  EXPECT_THAT(shm_open(inner_name, O_RDONLY, 0), SyscallFailsWithErrno(ENOENT));
  char data[10] = {};
  EXPECT_THAT(pread(host.fd(), data, sizeof data, 0), SyscallSucceedsWithValue(10));
  EXPECT_STREQ(data, "host data");
  UniqueFd reopened(shm_open(host_name, O_RDONLY, 0));  // still found by name on the host
  EXPECT_TRUE(reopened.valid()) << DescribeErrno(errno);
}

}  // namespace
}  // namespace shmconform
