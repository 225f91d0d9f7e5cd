// mmap(2): creating mappings, and the isolation of MAP_PRIVATE.
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/shmconform.h"

namespace shmconform {
namespace {

constexpr char kOriginal[] = "original file contents";
constexpr char kPrivate[] = "private write!!";

SysResult<TempFile> FileHolding(const char* text) {
  auto file = TempFile::Create(PageSize());
  if (file.ok() && pwrite(file.value().fd(), text, std::strlen(text), 0) < 0)
    return SysResult<TempFile>::Error(errno, "pwrite");
  return file;
}

TEST(MmapPrivateTest, StoresDoNotReachTheFile) {
  REQUIREMENTS("MMAP.PRIVATE.NOT_IN_FILE");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(FileHolding(kOriginal));
  auto map = ASSERT_NO_ERRNO_AND_VALUE(
      Mapping::Map(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE, file.fd(), 0));
  std::memcpy(map.bytes(), kPrivate, sizeof kPrivate);
  ASSERT_THAT(msync(map.get(), PageSize(), MS_SYNC), SyscallSucceeds());
  map.reset();  // not even unmapping writes a private page back

  char buf[sizeof kOriginal] = {};
  ASSERT_THAT(pread(file.fd(), buf, sizeof kOriginal - 1, 0), SyscallSucceedsWithValue(sizeof kOriginal - 1));
  EXPECT_STREQ(buf, kOriginal);
}

TEST(MmapPrivateTest, StoresAreNotSeenByAnotherProcessSharedMapping) {
  REQUIREMENTS("MMAP.PRIVATE.NOT_IN_OTHER_PROCESS");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(FileHolding(kOriginal));
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
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
  std::memcpy(map.bytes(), kPrivate, sizeof kPrivate);
  stored.Notify();
  EXPECT_THAT(other.Wait(), ExitedWithCode(0));
  EXPECT_STREQ(map.bytes(), kPrivate);  // our own view has the store
}

}  // namespace
}  // namespace shmconform
