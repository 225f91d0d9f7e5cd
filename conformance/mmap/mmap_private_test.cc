// mmap(2) MAP_PRIVATE: a copy-on-write view of the file whose stores reach
// neither the file nor any other mapping.
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

constexpr char kOriginal[] = "original file contents";
constexpr char kPrivate[] = "private write!!";

SysResult<Mapping> MapPrivate(int fd, size_t length = PageSize()) {
  return Mapping::Map(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
}

TEST(MmapPrivateTest, MappingShowsTheFileContents) {
  REQUIREMENTS("MMAP.PRIVATE.SHOWS_FILE_CONTENTS");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(FileHolding(kOriginal, PageSize()));
  auto map = ASSERT_NO_ERRNO_AND_VALUE(MapPrivate(file.fd()));
  EXPECT_STREQ(map.bytes(), kOriginal);
}

TEST(MmapPrivateTest, StoresDoNotReachTheFile) {
  REQUIREMENTS("MMAP.PRIVATE.NOT_IN_FILE");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(FileHolding(kOriginal, PageSize()));
  auto map = ASSERT_NO_ERRNO_AND_VALUE(MapPrivate(file.fd()));
  std::memcpy(map.bytes(), kPrivate, sizeof kPrivate);
  ASSERT_THAT(msync(map.get(), PageSize(), MS_SYNC), SyscallSucceeds());
  map.reset();  // not even unmapping writes a private page back
  EXPECT_EQ(ReadThroughNewFd(file.path(), sizeof kOriginal - 1), kOriginal);
}

TEST(MmapPrivateTest, StoresAreNotSeenByAnotherProcessSharedMapping) {
  REQUIREMENTS("MMAP.PRIVATE.NOT_IN_OTHER_PROCESS");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(FileHolding(kOriginal, PageSize()));
  const int fd = file.fd();
  Notification mapped, stored;
  // The other process maps the file MAP_SHARED itself (nothing inherited),
  // waits while we store through our private mapping, then looks.
  AsyncChild other = AsyncChild::Start([&] {
    char* shared = static_cast<char*>(mmap(nullptr, PageSize(), PROT_READ, MAP_SHARED, fd, 0));
    CHILD_CHECK(shared != MAP_FAILED);
    mapped.Notify();
    CHILD_CHECK(stored.WaitForNotification());
    CHILD_CHECK(std::strcmp(shared, kOriginal) == 0);
  });
  ASSERT_TRUE(mapped.WaitForNotification()) << other.Wait().Describe();
  auto map = ASSERT_NO_ERRNO_AND_VALUE(MapPrivate(fd));
  std::memcpy(map.bytes(), kPrivate, sizeof kPrivate);
  stored.Notify();
  EXPECT_THAT(other.Wait(), ExitedWithCode(0));
  EXPECT_STREQ(map.bytes(), kPrivate);  // our own view has the store
}

TEST(MmapPrivateTest, StoresAreNotSeenByAnotherProcessPrivateMapping) {
  REQUIREMENTS("MMAP.PRIVATE.NOT_IN_OTHER_PROCESS");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(FileHolding(kOriginal, PageSize()));
  const int fd = file.fd();
  Notification mapped, stored;
  AsyncChild other = AsyncChild::Start([&] {
    char* mine = static_cast<char*>(mmap(nullptr, PageSize(), PROT_READ, MAP_PRIVATE, fd, 0));
    CHILD_CHECK(mine != MAP_FAILED);
    CHILD_CHECK(std::strcmp(mine, kOriginal) == 0);  // faulted in before the store
    mapped.Notify();
    CHILD_CHECK(stored.WaitForNotification());
    CHILD_CHECK(std::strcmp(mine, kOriginal) == 0);
  });
  ASSERT_TRUE(mapped.WaitForNotification()) << other.Wait().Describe();
  auto map = ASSERT_NO_ERRNO_AND_VALUE(MapPrivate(fd));
  std::memcpy(map.bytes(), kPrivate, sizeof kPrivate);
  stored.Notify();
  EXPECT_THAT(other.Wait(), ExitedWithCode(0));
}

TEST(MmapPrivateTest, StoresAreNotSeenByASecondPrivateMappingInTheSameProcess) {
  REQUIREMENTS("MMAP.PRIVATE.NOT_IN_SECOND_MAPPING");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(FileHolding(kOriginal, PageSize()));
  auto first = ASSERT_NO_ERRNO_AND_VALUE(MapPrivate(file.fd()));
  auto second = ASSERT_NO_ERRNO_AND_VALUE(MapPrivate(file.fd()));
  ASSERT_STREQ(second.bytes(), kOriginal);
  std::memcpy(first.bytes(), kPrivate, sizeof kPrivate);
  EXPECT_STREQ(second.bytes(), kOriginal);
  std::memcpy(second.bytes() + 100, kPrivate, sizeof kPrivate);
  EXPECT_EQ(first.bytes()[100], '\0');
}

TEST(MmapPrivateTest, ParentAndChildEachSeeOnlyTheirOwnStoresAfterFork) {
  REQUIREMENTS("MMAP.PRIVATE.COPY_ON_WRITE_AFTER_FORK");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(FileHolding(kOriginal, PageSize()));
  auto map = ASSERT_NO_ERRNO_AND_VALUE(MapPrivate(file.fd()));
  char* p = map.bytes();
  std::strcpy(p, "parent before fork");
  Notification child_stored, parent_stored;
  AsyncChild child = AsyncChild::Start([&] {
    CHILD_CHECK(std::strcmp(p, "parent before fork") == 0);  // inherited copy
    std::strcpy(p, "child");
    child_stored.Notify();
    CHILD_CHECK(parent_stored.WaitForNotification());
    CHILD_CHECK(std::strcmp(p, "child") == 0);
  });
  ASSERT_TRUE(child_stored.WaitForNotification()) << child.Wait().Describe();
  EXPECT_STREQ(p, "parent before fork");
  std::strcpy(p, "parent after fork");
  parent_stored.Notify();
  EXPECT_THAT(child.Wait(), ExitedWithCode(0));
  EXPECT_STREQ(p, "parent after fork");
  EXPECT_EQ(ReadThroughNewFd(file.path(), sizeof kOriginal - 1), kOriginal);
}

TEST(MmapPrivateTest, WrittenPageNoLongerFollowsTheFile) {
  REQUIREMENTS("MMAP.PRIVATE.WRITTEN_PAGE_IS_PRIVATE_COPY");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(FileHolding(kOriginal, PageSize()));
  auto map = ASSERT_NO_ERRNO_AND_VALUE(MapPrivate(file.fd()));
  map.bytes()[PageSize() - 1] = 'x';
  ASSERT_THAT(pwrite(file.fd(), "FILE", 4, 0), SyscallSucceedsWithValue(4));
  EXPECT_STREQ(map.bytes(), kOriginal);
}

// POSIX leaves unspecified whether a private page not yet written shows
// changes made to the file later; record what this kernel does.
TEST(MmapPrivateTest, UnwrittenPagesMayShowLaterFileChanges) {
  REQUIREMENTS("MMAP.PRIVATE.UNWRITTEN_PAGES_UNSPECIFIED");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(FileHolding(kOriginal, PageSize()));
  auto map = ASSERT_NO_ERRNO_AND_VALUE(MapPrivate(file.fd()));
  ASSERT_STREQ(map.bytes(), kOriginal);  // read (faulted in), never written
  ASSERT_THAT(pwrite(file.fd(), "FILE", 4, 0), SyscallSucceedsWithValue(4));
  const std::string seen(map.bytes(), 4);
  ASSERT_THAT(seen, ::testing::AnyOf("FILE", "orig")) << "neither the old nor the new contents";
  // Unspecified by POSIX: what this kernel does is an observation, not a pass.
  GTEST_SKIP() << (seen == "FILE" ? "observation: unwritten private pages show later file changes"
                                  : "observation: unwritten private pages keep the contents seen at first access");
}

TEST(MmapPrivateTest, WritablePrivateMappingOfReadOnlyFdSucceeds) {
  REQUIREMENTS("MMAP.PRIVATE.WRITABLE_ON_RDONLY_FD");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(FileHolding(kOriginal, PageSize()));
  auto rdonly = ASSERT_NO_ERRNO_AND_VALUE(Open(file.path(), O_RDONLY));
  auto map = ASSERT_NO_ERRNO_AND_VALUE(MapPrivate(rdonly.get()));
  std::memcpy(map.bytes(), kPrivate, sizeof kPrivate);
  EXPECT_STREQ(map.bytes(), kPrivate);
  EXPECT_EQ(PreadString(file.fd(), sizeof kOriginal - 1), kOriginal);
}

}  // namespace
}  // namespace shmconform
