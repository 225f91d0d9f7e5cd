// mmap(2) MAP_SHARED of a file, and anonymous mappings (shared and private)
// across fork.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mmap_helpers.h"
#include "shmconform/shmconform.h"

namespace shmconform {
namespace {

constexpr char kStored[] = "stored through the mapping";

SysResult<Mapping> MapShared(int fd, size_t length = PageSize(), int prot = PROT_READ | PROT_WRITE) {
  return Mapping::Map(nullptr, length, prot, MAP_SHARED, fd, 0);
}

TEST(MmapSharedTest, StoresAreVisibleToReadOnAnotherFdWithoutMsync) {
  REQUIREMENTS("MMAP.SHARED.STORE_REACHES_FILE");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create(PageSize()));
  auto map = ASSERT_NO_ERRNO_AND_VALUE(MapShared(file.fd()));
  std::memcpy(map.bytes() + 100, kStored, sizeof kStored);
  EXPECT_EQ(ReadThroughNewFd(file.path(), sizeof kStored, 100), std::string(kStored, sizeof kStored));
}

TEST(MmapSharedTest, WriteToTheFileShowsInTheMapping) {
  REQUIREMENTS("MMAP.SHARED.WRITE_SHOWS_IN_MAPPING");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create(PageSize()));
  auto map = ASSERT_NO_ERRNO_AND_VALUE(MapShared(file.fd(), PageSize(), PROT_READ));
  ASSERT_EQ(map.bytes()[7], '\0');  // faulted in before the write
  auto other = ASSERT_NO_ERRNO_AND_VALUE(Open(file.path(), O_WRONLY));
  ASSERT_THAT(pwrite(other.get(), "written", 7, 7), SyscallSucceedsWithValue(7));
  EXPECT_EQ(std::string(map.bytes() + 7, 7), "written");
}

TEST(MmapSharedTest, StoresReachAnotherProcessMappingBothWays) {
  REQUIREMENTS("MMAP.SHARED.STORE_REACHES_OTHER_PROCESS");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create(PageSize()));
  const int fd = file.fd();
  Notification mapped, parent_stored, child_stored;
  AsyncChild child = AsyncChild::Start([&] {
    // Its own mapping, made after fork: nothing inherited.
    char* p = static_cast<char*>(mmap(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    CHILD_CHECK(p != MAP_FAILED);
    mapped.Notify();
    CHILD_CHECK(parent_stored.WaitForNotification());
    CHILD_CHECK(std::strcmp(p, "parent") == 0);
    std::strcpy(p + 64, "child");
    child_stored.Notify();
  });
  ASSERT_TRUE(mapped.WaitForNotification()) << child.Wait().Describe();
  auto map = ASSERT_NO_ERRNO_AND_VALUE(MapShared(fd));
  std::strcpy(map.bytes(), "parent");
  parent_stored.Notify();
  ASSERT_TRUE(child_stored.WaitForNotification()) << child.Wait().Describe();
  EXPECT_STREQ(map.bytes() + 64, "child");
  EXPECT_THAT(child.Wait(), ExitedWithCode(0));
}

TEST(MmapSharedTest, TwoSharedMappingsInOneProcessAlias) {
  REQUIREMENTS("MMAP.SHARED.MAPPINGS_ALIAS");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create(2 * PageSize()));
  auto whole = ASSERT_NO_ERRNO_AND_VALUE(MapShared(file.fd(), 2 * PageSize()));
  auto second = ASSERT_NO_ERRNO_AND_VALUE(
      Mapping::Map(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, file.fd(), PageSize()));
  ASSERT_NE(whole.bytes() + PageSize(), second.bytes());
  std::strcpy(whole.bytes() + PageSize() + 5, kStored);
  EXPECT_STREQ(second.bytes() + 5, kStored);  // the offset selects the file's second page
}

TEST(MmapSharedTest, MappingOutlivesCloseOfTheFd) {
  REQUIREMENTS("MMAP.SHARED.OUTLIVES_CLOSE");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(FileHolding("before close", PageSize()));
  const int fd = ASSERT_NO_ERRNO_AND_VALUE(Open(file.path(), O_RDWR)).release();
  auto map = ASSERT_NO_ERRNO_AND_VALUE(MapShared(fd));
  ASSERT_THAT(close(fd), SyscallSucceeds());
  EXPECT_STREQ(map.bytes(), "before close");
  std::strcpy(map.bytes(), "after close!");
  EXPECT_EQ(PreadString(file.fd(), 12), "after close!");
}

TEST(MmapSharedTest, DataStaysInTheFileAfterMunmapAndAfterExit) {
  REQUIREMENTS("MMAP.SHARED.DATA_IS_NONVOLATILE");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create(PageSize()));
  {
    auto map = ASSERT_NO_ERRNO_AND_VALUE(MapShared(file.fd()));
    std::strcpy(map.bytes(), "by munmap");
  }
  EXPECT_EQ(ReadThroughNewFd(file.path(), 10), std::string("by munmap", 10));
  const int fd = file.fd();
  EXPECT_THAT(RunInChild([fd] {
                char* p = static_cast<char*>(mmap(nullptr, PageSize(), PROT_WRITE, MAP_SHARED, fd, 0));
                CHILD_CHECK(p != MAP_FAILED);
                std::memcpy(p + 16, "by exit", 8);
                _exit(0);  // no munmap, no msync
              }),
              ExitedWithCode(0));
  EXPECT_EQ(ReadThroughNewFd(file.path(), 8, 16), std::string("by exit", 8));
}

TEST(MmapAnonymousTest, SharedAnonymousIsSharedWithForkedChildBothWays) {
  REQUIREMENTS("MMAP.ANON.SHARED_ACROSS_FORK");
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED));
  char* p = map.bytes();
  std::strcpy(p, "parent");
  EXPECT_THAT(RunInChild([p] {
                CHILD_CHECK(std::strcmp(p, "parent") == 0);
                std::strcpy(p, "child");
              }),
              ExitedWithCode(0));
  EXPECT_STREQ(p, "child");
}

TEST(MmapAnonymousTest, AnonymousMappingsAreZeroFilled) {
  REQUIREMENTS("MMAP.ANON.ZERO_FILLED");
  for (int flags : {MAP_PRIVATE, MAP_SHARED}) {
    auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(3 * PageSize(), PROT_READ | PROT_WRITE, flags));
    EXPECT_EQ(NonZeroBytes(map.bytes(), map.length()), 0u) << "flags " << flags;
  }
}

TEST(MmapAnonymousTest, PrivateAnonymousIsCopiedOnWriteAfterForkBothWays) {
  REQUIREMENTS("MMAP.ANON.PRIVATE_AFTER_FORK");
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE));
  char* p = map.bytes();
  std::strcpy(p, "before fork");
  Notification child_stored, parent_stored;
  AsyncChild child = AsyncChild::Start([&] {
    CHILD_CHECK(std::strcmp(p, "before fork") == 0);
    std::strcpy(p, "child");
    child_stored.Notify();
    CHILD_CHECK(parent_stored.WaitForNotification());
    CHILD_CHECK(std::strcmp(p, "child") == 0);
  });
  ASSERT_TRUE(child_stored.WaitForNotification()) << child.Wait().Describe();
  EXPECT_STREQ(p, "before fork");
  std::strcpy(p, "parent");
  parent_stored.Notify();
  EXPECT_THAT(child.Wait(), ExitedWithCode(0));
  EXPECT_STREQ(p, "parent");
}

}  // namespace
}  // namespace shmconform
