#include <fcntl.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "shmconform/owners.h"
#include "shmconform/syscall_matchers.h"
#include "shmconform/system_info.h"
#include "shmconform/unique_names.h"

namespace shmconform {
namespace {

TEST(OwnersTest, SegmentRemovesItselfAndAttachmentDetachesItself) {
  int id = -1;
  void* addr = nullptr;
  {
    auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, 100, IPC_CREAT | 0600));
    id = seg.id();
    auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id()));
    addr = att.get();
    struct shmid_ds ds {};
    ASSERT_THAT(shmctl(id, IPC_STAT, &ds), SyscallSucceeds());
    EXPECT_EQ(ds.shm_nattch, 1u);
  }
  struct shmid_ds ds {};
  EXPECT_THAT(shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(shmdt(addr), SyscallFailsWithErrno(EINVAL));
}

TEST(OwnersTest, RemovalTheTestAlreadyDidStaysQuiet) {
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, 100, IPC_CREAT | 0600));
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id()));
  ASSERT_THAT(shmdt(att.get()), SyscallSucceeds());
  ASSERT_THAT(shmctl(seg.id(), IPC_RMID, nullptr), SyscallSucceeds());
  auto shm = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(UniqueShmName("quiet"), O_RDWR | O_CREAT | O_EXCL, 0600));
  ASSERT_THAT(shm_unlink(shm.name().c_str()), SyscallSucceeds());
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create(0));
  ASSERT_THAT(unlink(file.path().c_str()), SyscallSucceeds());
  // The owners' destructors run at the end of this test: no failure may follow.
}

TEST(OwnersTest, UnexpectedRemovalErrorIsReportedWithTheErrnoName) {
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), PROT_READ, MAP_PRIVATE));
  char* const misaligned = map.bytes() + 1;
  EXPECT_NONFATAL_FAILURE({ Mapping(misaligned, PageSize()).reset(); }, "EINVAL");
  const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_THAT(close(fd), SyscallSucceeds());
  EXPECT_NONFATAL_FAILURE({ UniqueFd(fd).reset(); }, "EBADF");
}

TEST(OwnersTest, FailedFactoryReportsTheCallAndErrno) {
  auto missing = SysvSegment::Create(UniqueIpcKey(), 0, 0);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), ENOENT);
  EXPECT_THAT(missing.Describe(), ::testing::AllOf(::testing::HasSubstr("shmget("), ::testing::HasSubstr("ENOENT")));
}

TEST(OwnersTest, MappingUnmapsItself) {
  void* addr = nullptr;
  {
    auto m = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE));
    addr = m.get();
    m.bytes()[0] = 1;
    ASSERT_TRUE(FindMapsEntry(addr).has_value());
  }
  EXPECT_FALSE(FindMapsEntry(addr).has_value());
}

TEST(OwnersTest, MovedOwnerReleasesOnce) {
  auto a = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, 1, IPC_CREAT | 0600));
  const int id = a.id();
  SysvSegment b = std::move(a);
  EXPECT_EQ(a.id(), -1);
  EXPECT_EQ(b.id(), id);
}

TEST(OwnersTest, TempFileAndDirAreRemoved) {
  std::string file_path, dir_path;
  {
    auto dir = ASSERT_NO_ERRNO_AND_VALUE(TempDir::Create());
    dir_path = dir.path();
    auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create(3 * PageSize()));
    file_path = file.path();
    struct stat st {};
    ASSERT_THAT(fstat(file.fd(), &st), SyscallSucceeds());
    EXPECT_EQ(st.st_size, static_cast<off_t>(3 * PageSize()));
    // A nested file, so the recursive removal has something to do.
    const std::string nested = dir.path() + "/nested";
    UniqueFd fd = ASSERT_NO_ERRNO_AND_VALUE(Open(nested, O_CREAT | O_WRONLY, 0600));
  }
  EXPECT_THAT(access(file_path.c_str(), F_OK), SyscallFailsWithErrno(ENOENT));
  EXPECT_THAT(access(dir_path.c_str(), F_OK), SyscallFailsWithErrno(ENOENT));
}

TEST(OwnersTest, PosixShmUnlinksItself) {
  const std::string name = UniqueShmName("owner");
  {
    auto shm = ASSERT_NO_ERRNO_AND_VALUE(PosixShm::Open(name, O_CREAT | O_EXCL | O_RDWR, 0600));
    EXPECT_GE(shm.fd(), 0);
  }
  EXPECT_THAT(shm_open(name.c_str(), O_RDONLY, 0), SyscallFailsWithErrno(ENOENT));
}

TEST(OwnersTest, CleanupRunsOnceAtScopeExitOrWhenRunEarly) {
  int runs = 0;
  {
    Cleanup c([&] { ++runs; });
  }
  EXPECT_EQ(runs, 1);
  {
    Cleanup c([&] { ++runs; });
    c.Run();
    EXPECT_EQ(runs, 2);
  }
  EXPECT_EQ(runs, 2);
}

}  // namespace
}  // namespace shmconform
