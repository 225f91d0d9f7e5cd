// shm_unlink(3): removing a POSIX shared memory object's name.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "posix_shm.h"
#include "shmconform/shmconform.h"

namespace shmconform {
namespace {

TEST(ShmUnlinkTest, RemovedNameIsNoLongerFound) {
  REQUIREMENTS("PSHM.UNLINK.REMOVES_NAME");
  SKIP_UNLESS_POSIX_SHM();
  auto shm = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(UniqueShmName("unlink"), O_RDWR | O_CREAT | O_EXCL, 0600));
  ASSERT_THAT(shm_unlink(shm.name().c_str()), SyscallSucceeds());
  EXPECT_THAT(shm_open(shm.name().c_str(), O_RDWR, 0), SyscallFailsWithErrno(ENOENT));
}

TEST(ShmUnlinkTest, OpenDescriptorsAndMappingsKeepWorking) {
  REQUIREMENTS("PSHM.UNLINK.OPEN_REFS_SURVIVE");
  SKIP_UNLESS_POSIX_SHM();
  auto shm = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(UniqueShmName("survive"), O_RDWR | O_CREAT | O_EXCL, 0600));
  ASSERT_THAT(ftruncate(shm.fd(), PageSize()), SyscallSucceeds());
  auto m =
      ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, shm.fd(), 0));
  ASSERT_THAT(shm_unlink(shm.name().c_str()), SyscallSucceeds());

  // The mappings are used in a child (which shares them): where a broken
  // kernel emptied the object, the SIGBUS fails the test instead of ending
  // the test binary.
  char* const first = m.bytes();
  EXPECT_THAT(RunInChild([first] { std::strcpy(first, "after unlink"); }), ExitedWithCode(0))
      << "storing through the mapping after shm_unlink";
  char data[13] = {};
  EXPECT_THAT(pread(shm.fd(), data, sizeof data, 0), SyscallSucceedsWithValue(13));
  EXPECT_STREQ(data, "after unlink");
  // The descriptor still resizes and maps the object.
  ASSERT_THAT(ftruncate(shm.fd(), 2 * PageSize()), SyscallSucceeds());
  auto m2 =
      ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(nullptr, 2 * PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, shm.fd(), 0));
  char* const second = m2.bytes();
  const size_t page = PageSize();
  EXPECT_THAT(RunInChild([second, page] {
                CHILD_CHECK(std::memcmp(second, "after unlink", 13) == 0);
                second[page] = 'z';
              }),
              ExitedWithCode(0));
  EXPECT_THAT(pread(shm.fd(), data, 1, PageSize()), SyscallSucceedsWithValue(1));
  EXPECT_EQ(data[0], 'z');
}

TEST(ShmUnlinkTest, NameIsReusableForANewObjectWhileTheOldOneLives) {
  REQUIREMENTS("PSHM.UNLINK.REMOVES_NAME");
  SKIP_UNLESS_POSIX_SHM();
  auto old_shm = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(UniqueShmName("reuse"), O_RDWR | O_CREAT | O_EXCL, 0600));
  ASSERT_THAT(ftruncate(old_shm.fd(), PageSize()), SyscallSucceeds());
  ASSERT_THAT(shm_unlink(old_shm.name().c_str()), SyscallSucceeds());
  auto new_shm = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(old_shm.name(), O_RDWR | O_CREAT | O_EXCL, 0600));
  struct stat old_st {};
  struct stat new_st {};
  ASSERT_THAT(fstat(old_shm.fd(), &old_st), SyscallSucceeds());
  ASSERT_THAT(fstat(new_shm.fd(), &new_st), SyscallSucceeds());
  EXPECT_NE(old_st.st_ino, new_st.st_ino);
  EXPECT_EQ(new_st.st_size, 0);
  EXPECT_EQ(old_st.st_size, static_cast<off_t>(PageSize()));
}

TEST(ShmUnlinkTest, MissingNameFailsWithENOENT) {
  REQUIREMENTS("PSHM.UNLINK.MISSING_ENOENT");
  SKIP_UNLESS_POSIX_SHM();
  EXPECT_THAT(shm_unlink(UniqueShmName("nothing").c_str()), SyscallFailsWithErrno(ENOENT));
  auto shm = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(UniqueShmName("twice"), O_RDWR | O_CREAT | O_EXCL, 0600));
  ASSERT_THAT(shm_unlink(shm.name().c_str()), SyscallSucceeds());
  EXPECT_THAT(shm_unlink(shm.name().c_str()), SyscallFailsWithErrno(ENOENT));
}

TEST(ShmUnlinkTest, OtherUserCannotUnlinkFailsWithEACCES) {
  REQUIREMENTS("PSHM.UNLINK.ACCESS");
  SKIP_UNLESS_POSIX_SHM();
  SKIP_UNLESS_CAN_CHANGE_UID();
  // Only a sticky /dev/shm (the usual 1777) keeps other users from removing names.
  struct stat dir {};
  if (stat("/dev/shm", &dir) != 0 || !(dir.st_mode & S_ISVTX))
    GTEST_SKIP() << "/dev/shm is absent or not sticky here: any writer may remove names";
  // Even a mode that lets everyone write the object does not let them remove it.
  auto shm = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(UniqueShmName("foreign"), O_RDWR | O_CREAT | O_EXCL, 0600));
  ASSERT_THAT(fchmod(shm.fd(), 0666), SyscallSucceeds());
  const char* name = shm.name().c_str();
  EXPECT_THAT(RunAsUser([name] { CHILD_CHECK_ERRNO(shm_unlink(name), EACCES); }), ExitedWithCode(0));
  UniqueFd still(shm_open(name, O_RDONLY, 0));
  EXPECT_TRUE(still.valid()) << DescribeErrno(errno);
}

TEST(ShmUnlinkTest, NameLongerThanNameMaxFailsWithENAMETOOLONG) {
  REQUIREMENTS("PSHM.UNLINK.NAME_TOO_LONG");
  SKIP_UNLESS_POSIX_SHM();
  std::string name = UniqueShmName("len");
  name.resize(NAME_MAX + 2, 'x');  // a component of NAME_MAX + 1 bytes after the slash
  EXPECT_THAT(shm_unlink(name.c_str()), SyscallFailsWithErrno(ENAMETOOLONG));
}

}  // namespace
}  // namespace shmconform
