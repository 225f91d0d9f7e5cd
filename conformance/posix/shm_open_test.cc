// shm_open(3): creation, size, mode, owner, flags, names, sharing between
// processes and persistence of POSIX shared memory objects.
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "posix_shm.h"
#include "shmconform/shmconform.h"

namespace shmconform {
namespace {

struct stat StatOf(int fd) {
  struct stat st {};
  EXPECT_THAT(fstat(fd, &st), SyscallSucceeds());
  return st;
}

// Sets the umask for one test and restores the previous one.
Cleanup ScopedUmask(mode_t mask) {
  const mode_t old = umask(mask);
  return Cleanup([old] { umask(old); });
}

TEST(ShmOpenTest, CreateMakesEmptyObjectOwnedByCaller) {
  REQUIREMENTS("PSHM.OPEN.CREATE_EMPTY", "PSHM.OPEN.CREATE_OWNER");
  SKIP_UNLESS_POSIX_SHM();
  auto shm = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(UniqueShmName("empty"), O_RDWR | O_CREAT | O_EXCL, 0600));
  const struct stat st = StatOf(shm.fd());
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(st.st_uid, geteuid());
  EXPECT_EQ(st.st_gid, getegid());
}

struct UmaskCase {
  mode_t requested;
  mode_t mask;
  mode_t expected;
};

class ShmOpenModeTest : public ::testing::TestWithParam<UmaskCase> {};

TEST_P(ShmOpenModeTest, CreateAppliesUmaskToMode) {
  REQUIREMENTS("PSHM.OPEN.CREATE_MODE");
  SKIP_UNLESS_POSIX_SHM();
  const UmaskCase c = GetParam();
  Cleanup restore = ScopedUmask(c.mask);
  auto shm = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(UniqueShmName("mode"), O_RDWR | O_CREAT | O_EXCL, c.requested));
  EXPECT_EQ(StatOf(shm.fd()).st_mode & 07777, c.expected);
}

INSTANTIATE_TEST_SUITE_P(Masks, ShmOpenModeTest,
                         ::testing::Values(UmaskCase{0666, 022, 0644}, UmaskCase{0640, 077, 0600},
                                           UmaskCase{0777, 0, 0777}, UmaskCase{0604, 004, 0600}));

TEST(ShmOpenTest, ExclusiveCreateOfExistingNameFailsWithEEXIST) {
  REQUIREMENTS("PSHM.OPEN.EXCL_EXISTS");
  SKIP_UNLESS_POSIX_SHM();
  auto shm = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(UniqueShmName("excl"), O_RDWR | O_CREAT | O_EXCL, 0600));
  EXPECT_THAT(shm_open(shm.name().c_str(), O_RDWR | O_CREAT | O_EXCL, 0600), SyscallFailsWithErrno(EEXIST));
  // Without O_EXCL the same call opens the existing object.
  UniqueFd again(shm_open(shm.name().c_str(), O_RDWR | O_CREAT, 0600));
  EXPECT_TRUE(again.valid()) << DescribeErrno(errno);
}

TEST(ShmOpenTest, MissingNameWithoutCreateFailsWithENOENT) {
  REQUIREMENTS("PSHM.OPEN.MISSING_ENOENT");
  SKIP_UNLESS_POSIX_SHM();
  const std::string name = UniqueShmName("missing");
  EXPECT_THAT(shm_open(name.c_str(), O_RDWR, 0), SyscallFailsWithErrno(ENOENT));
  EXPECT_THAT(shm_open(name.c_str(), O_RDONLY, 0), SyscallFailsWithErrno(ENOENT));
}

TEST(ShmOpenTest, ReadOnlyDescriptorCannotBeMappedSharedWritable) {
  REQUIREMENTS("PSHM.OPEN.RDONLY_NO_SHARED_WRITE");
  SKIP_UNLESS_POSIX_SHM();
  auto shm = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(UniqueShmName("rdonly"), O_RDWR | O_CREAT | O_EXCL, 0600));
  ASSERT_THAT(ftruncate(shm.fd(), PageSize()), SyscallSucceeds());
  UniqueFd ro(shm_open(shm.name().c_str(), O_RDONLY, 0));
  ASSERT_TRUE(ro.valid()) << DescribeErrno(errno);
  EXPECT_THAT(mmap(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, ro.get(), 0),
              SyscallFailsWithErrno(EACCES));
  // Reading is allowed, and so is a private copy.
  EXPECT_THAT(Mapping::Map(nullptr, PageSize(), PROT_READ, MAP_SHARED, ro.get(), 0).ok(), true);
  EXPECT_THAT(Mapping::Map(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE, ro.get(), 0).ok(), true);
}

TEST(ShmOpenTest, TruncateEmptiesObjectAndKeepsItsMode) {
  REQUIREMENTS("PSHM.OPEN.TRUNC");
  SKIP_UNLESS_POSIX_SHM();
  Cleanup restore = ScopedUmask(0);
  auto shm = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(UniqueShmName("trunc"), O_RDWR | O_CREAT | O_EXCL, 0640));
  ASSERT_THAT(ftruncate(shm.fd(), 2 * PageSize()), SyscallSucceeds());
  UniqueFd again(shm_open(shm.name().c_str(), O_RDWR | O_CREAT | O_TRUNC, 0606));
  ASSERT_TRUE(again.valid()) << DescribeErrno(errno);
  EXPECT_EQ(StatOf(shm.fd()).st_size, 0);  // the same object, seen through the first descriptor
  EXPECT_EQ(StatOf(again.get()).st_mode & 07777, 0640u);
}

TEST(ShmOpenTest, TruncateKeepsTheOwner) {
  REQUIREMENTS("PSHM.OPEN.TRUNC");
  SKIP_UNLESS_POSIX_SHM();
  SKIP_UNLESS_CAN_CHANGE_UID();  // only root can give the object to another owner first
  auto shm = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(UniqueShmName("truncown"), O_RDWR | O_CREAT | O_EXCL, 0666));
  ASSERT_THAT(ftruncate(shm.fd(), PageSize()), SyscallSucceeds());
  ASSERT_THAT(fchown(shm.fd(), kUnprivilegedUid, kUnprivilegedGid), SyscallSucceeds());
  UniqueFd again(shm_open(shm.name().c_str(), O_RDWR | O_TRUNC, 0));
  ASSERT_TRUE(again.valid()) << DescribeErrno(errno);
  const struct stat st = StatOf(again.get());
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(st.st_uid, kUnprivilegedUid);
  EXPECT_EQ(st.st_gid, kUnprivilegedGid);
}

TEST(ShmOpenTest, DescriptorHasCloseOnExec) {
  REQUIREMENTS("PSHM.OPEN.CLOEXEC");
  SKIP_UNLESS_POSIX_SHM();
  auto shm = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(UniqueShmName("cloexec"), O_RDWR | O_CREAT | O_EXCL, 0600));
  EXPECT_THAT(fcntl(shm.fd(), F_GETFD), SyscallSucceedsWithValue(FD_CLOEXEC));
  UniqueFd ro(shm_open(shm.name().c_str(), O_RDONLY, 0));
  EXPECT_THAT(fcntl(ro.get(), F_GETFD), SyscallSucceedsWithValue(FD_CLOEXEC));
}

class ShmOpenInvalidNameTest : public ::testing::TestWithParam<const char*> {};

// '%' in a pattern stands for a run-unique component.
std::string Expand(std::string pattern) {
  if (const auto at = pattern.find('%'); at != std::string::npos)
    pattern.replace(at, 1, UniqueShmName("inner").substr(1));
  return pattern;
}

TEST_P(ShmOpenInvalidNameTest, FailsWithEINVAL) {
  REQUIREMENTS("PSHM.OPEN.NAME_INVALID");
  SKIP_UNLESS_POSIX_SHM();
  const std::string name = Expand(GetParam());
  EXPECT_THAT(shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600), SyscallFailsWithErrno(EINVAL)) << name;
}

// Empty or "/" alone names nothing; a slash after the first is a path.
INSTANTIATE_TEST_SUITE_P(Names, ShmOpenInvalidNameTest, ::testing::Values("", "/", "//", "/%/x", "/%/"));

// "/<prefix>xxx...": a name whose single component has exactly `length` bytes.
std::string NameOfLength(size_t length) {
  std::string name = UniqueShmName("len");
  name.resize(length + 1, 'x');
  return name;
}

TEST(ShmOpenTest, NameLongerThanNameMaxFailsWithENAMETOOLONG) {
  REQUIREMENTS("PSHM.OPEN.NAME_TOO_LONG");
  SKIP_UNLESS_POSIX_SHM();
  EXPECT_THAT(shm_open(NameOfLength(NAME_MAX + 1).c_str(), O_RDWR | O_CREAT | O_EXCL, 0600),
              SyscallFailsWithErrno(ENAMETOOLONG));
  // The boundary: NAME_MAX bytes are accepted.
  EXPECT_TRUE(PosixShm::Open(NameOfLength(NAME_MAX), O_RDWR | O_CREAT | O_EXCL, 0600).ok());
}

TEST(ShmOpenTest, FtruncateSetsTheSizeFstatReports) {
  REQUIREMENTS("PSHM.FTRUNCATE.SIZE");
  SKIP_UNLESS_POSIX_SHM();
  auto shm = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(UniqueShmName("size"), O_RDWR | O_CREAT | O_EXCL, 0600));
  const off_t size = 3 * PageSize() + 1;
  ASSERT_THAT(ftruncate(shm.fd(), size), SyscallSucceeds());
  EXPECT_EQ(StatOf(shm.fd()).st_size, size);
  // The new bytes read as zero.
  auto m = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(nullptr, size, PROT_READ, MAP_SHARED, shm.fd(), 0));
  EXPECT_EQ(m.bytes()[0], 0);
  EXPECT_EQ(m.bytes()[size - 1], 0);
  ASSERT_THAT(ftruncate(shm.fd(), PageSize()), SyscallSucceeds());
  EXPECT_EQ(StatOf(shm.fd()).st_size, static_cast<off_t>(PageSize()));
}

TEST(ShmOpenTest, ObjectIsSharedWithForkedChild) {
  REQUIREMENTS("PSHM.SHARE.FORK");
  SKIP_UNLESS_POSIX_SHM();
  auto shm = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(UniqueShmName("fork"), O_RDWR | O_CREAT | O_EXCL, 0600));
  ASSERT_THAT(ftruncate(shm.fd(), PageSize()), SyscallSucceeds());
  auto m =
      ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, shm.fd(), 0));
  std::strcpy(m.bytes(), "from parent");
  const int fd = shm.fd();
  char* inherited = m.bytes();
  EXPECT_THAT(RunInChild([fd, inherited] {
                CHILD_CHECK(std::strcmp(inherited, "from parent") == 0);
                // A second mapping of the inherited descriptor is the same memory.
                void* p = mmap(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
                CHILD_CHECK(p != MAP_FAILED);
                std::strcpy(static_cast<char*>(p) + 100, "via own mapping");
                std::strcpy(inherited, "from child");
              }),
              ExitedWithCode(0));
  EXPECT_STREQ(m.bytes(), "from child");
  EXPECT_STREQ(m.bytes() + 100, "via own mapping");
}

// An unrelated process: opens the name it is given, checks the parent's data
// and answers in the object.
SHMCONFORM_SCENARIO(ShmOpenByNameAndReply) {
  const int fd = shm_open(args.at(0).c_str(), O_RDWR, 0);
  if (fd < 0) return 10;
  char* p = static_cast<char*>(mmap(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  if (p == MAP_FAILED) return 11;
  std::printf("read=%s", p);
  std::strcpy(p, "reply from exec");
  return 0;
}

TEST(ShmOpenTest, ObjectIsSharedWithUnrelatedProcessOpeningTheName) {
  REQUIREMENTS("PSHM.SHARE.BY_NAME");
  SKIP_UNLESS_POSIX_SHM();
  auto shm = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(UniqueShmName("byname"), O_RDWR | O_CREAT | O_EXCL, 0600));
  ASSERT_THAT(ftruncate(shm.fd(), PageSize()), SyscallSucceeds());
  auto m =
      ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, shm.fd(), 0));
  std::strcpy(m.bytes(), "from parent");
  ASSERT_EXEC_SCENARIO(r, "ShmOpenByNameAndReply", {shm.name()});
  EXPECT_THAT(r.outcome, ExitedWithCode(0));
  EXPECT_EQ(r.output, "read=from parent");
  EXPECT_STREQ(m.bytes(), "reply from exec");
}

// Creates the object, writes to it, and exits without unlinking it.
SHMCONFORM_SCENARIO(ShmCreateWriteAndExit) {
  const int fd = shm_open(args.at(0).c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return 10;
  if (ftruncate(fd, PageSize()) != 0) return 11;
  if (pwrite(fd, "outlives its creator", 21, 0) != 21) return 12;
  return 0;
}

TEST(ShmOpenTest, ObjectPersistsWithItsDataAfterEveryProcessClosedIt) {
  REQUIREMENTS("PSHM.OPEN.PERSISTS");
  SKIP_UNLESS_POSIX_SHM();
  const std::string name = UniqueShmName("persist");
  Cleanup unlink([name] { shm_unlink(name.c_str()); });
  ASSERT_EXEC_SCENARIO(r, "ShmCreateWriteAndExit", {name});
  ASSERT_THAT(r.outcome, ExitedWithCode(0));
  // No process has it open now; the name still finds the object and its data.
  auto shm = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(name, O_RDONLY, 0));
  EXPECT_EQ(StatOf(shm.fd()).st_size, static_cast<off_t>(PageSize()));
  char data[21] = {};
  EXPECT_THAT(pread(shm.fd(), data, sizeof data, 0), SyscallSucceedsWithValue(21));
  EXPECT_STREQ(data, "outlives its creator");
}

struct AccessCase {
  mode_t mode;
  int oflag;
  int expected_errno;  // 0: the open succeeds
};

class ShmOpenAccessTest : public ::testing::TestWithParam<AccessCase> {};

TEST_P(ShmOpenAccessTest, OtherUserIsCheckedAgainstTheMode) {
  REQUIREMENTS("PSHM.OPEN.ACCESS");
  SKIP_UNLESS_POSIX_SHM();
  SKIP_UNLESS_CAN_CHANGE_UID();
  const AccessCase c = GetParam();
  auto shm = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(UniqueShmName("access"), O_RDWR | O_CREAT | O_EXCL, 0600));
  ASSERT_THAT(fchmod(shm.fd(), c.mode), SyscallSucceeds());  // exact mode, whatever the umask
  const char* name = shm.name().c_str();
  EXPECT_THAT(RunAsUser([&] { CHILD_CHECK_RESULT(shm_open(name, c.oflag, 0), c.expected_errno); }), ExitedWithCode(0));
}

INSTANTIATE_TEST_SUITE_P(Modes, ShmOpenAccessTest,
                         ::testing::Values(AccessCase{0600, O_RDONLY, EACCES}, AccessCase{0600, O_RDWR, EACCES},
                                           AccessCase{0604, O_RDONLY, 0}, AccessCase{0604, O_RDWR, EACCES},
                                           AccessCase{0606, O_RDWR, 0}, AccessCase{0604, O_RDWR | O_TRUNC, EACCES}));

// The descriptor is the lowest one not open. `first` took the lowest free
// number; once it is closed again, that number is the lowest free one and
// shm_open must return it (probing numbers with fcntl is not used: emulators
// such as qemu-user keep descriptors of their own).
TEST(ShmOpenTest, ReturnsTheLowestFreeDescriptor) {
  REQUIREMENTS("PSHM.OPEN.LOWEST_FD");
  SKIP_UNLESS_POSIX_SHM();
  UniqueFd first(open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(first.valid()) << DescribeErrno(errno);
  UniqueFd second(open("/dev/null", O_RDONLY | O_CLOEXEC));  // keeps the numbers above `first` taken
  ASSERT_TRUE(second.valid()) << DescribeErrno(errno);
  const int lowest = first.get();
  first.reset();
  auto shm = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(UniqueShmName("lowest"), O_RDWR | O_CREAT | O_EXCL, 0600));
  EXPECT_EQ(shm.fd(), lowest);
}

}  // namespace
}  // namespace shmconform
