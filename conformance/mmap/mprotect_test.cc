// mprotect(2): changing the protection of mapped pages.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <ostream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mmap_helpers.h"
#include "shmconform/shmconform.h"

namespace shmconform {
namespace {

TEST(MprotectTest, ReadOnlyKeepsContentsAndMakesWritesFaultWithAccerr) {
  REQUIREMENTS("MMAP.MPROTECT.TAKES_EFFECT");
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE));
  std::strcpy(map.bytes(), "kept");
  ASSERT_THAT(mprotect(map.get(), PageSize(), PROT_READ), SyscallSucceeds());
  EXPECT_STREQ(map.bytes(), "kept");
  volatile char* p = map.bytes() + 3;
  EXPECT_THAT(RunInChild([p] { *p = 'X'; }), FaultedWith(SIGSEGV, SEGV_ACCERR, p));
  ASSERT_THAT(mprotect(map.get(), PageSize(), PROT_READ | PROT_WRITE), SyscallSucceeds());
  EXPECT_THAT(RunInChild([p] { *p = 'X'; }), ExitedWithCode(0));
  map.bytes()[3] = 'p';
  EXPECT_STREQ(map.bytes(), "kepp");
}

TEST(MprotectTest, NoneMakesReadsFaultAndRestoringKeepsContents) {
  REQUIREMENTS("MMAP.MPROTECT.TAKES_EFFECT");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(FileHolding("file page", PageSize()));
  auto map =
      ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, file.fd(), 0));
  ASSERT_THAT(mprotect(map.get(), PageSize(), PROT_NONE), SyscallSucceeds());
  volatile char* p = map.bytes() + PageSize() - 2;
  EXPECT_THAT(RunInChild([p] { (void)*p; }), FaultedWith(SIGSEGV, SEGV_ACCERR, p));
  ASSERT_THAT(mprotect(map.get(), PageSize(), PROT_READ), SyscallSucceeds());
  EXPECT_STREQ(map.bytes(), "file page");
}

TEST(MprotectTest, ChangingTheMiddlePageSplitsTheMapping) {
  REQUIREMENTS("MMAP.MPROTECT.PARTIAL");
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(3 * PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE));
  ASSERT_THAT(mprotect(map.bytes() + PageSize(), PageSize(), PROT_READ), SyscallSucceeds());
  const auto first = FindMapsEntry(map.bytes());
  const auto middle = FindMapsEntry(map.bytes() + PageSize());
  const auto last = FindMapsEntry(map.bytes() + 2 * PageSize());
  ASSERT_TRUE(first && middle && last);
  EXPECT_EQ(first->perms + middle->perms + last->perms, "rw-pr--prw-p");
  EXPECT_EQ(middle->start, map.addr() + PageSize());
  EXPECT_EQ(middle->end, map.addr() + 2 * PageSize());
  volatile char* p = map.bytes() + PageSize();
  EXPECT_THAT(RunInChild([p] { *p = 1; }), FaultedWith(SIGSEGV, SEGV_ACCERR, p));
}

TEST(MprotectTest, WriteOnASharedMappingOfAReadOnlyFdFailsWithEACCES) {
  REQUIREMENTS("MMAP.MPROTECT.SHARED_RDONLY_FD_EACCES");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create(PageSize()));
  auto rdonly = ASSERT_NO_ERRNO_AND_VALUE(Open(file.path(), O_RDONLY));
  auto shared = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(nullptr, PageSize(), PROT_READ, MAP_SHARED, rdonly.get(), 0));
  EXPECT_THAT(mprotect(shared.get(), PageSize(), PROT_READ | PROT_WRITE), SyscallFailsWithErrno(EACCES));
  auto priv = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(nullptr, PageSize(), PROT_READ, MAP_PRIVATE, rdonly.get(), 0));
  EXPECT_THAT(mprotect(priv.get(), PageSize(), PROT_READ | PROT_WRITE), SyscallSucceeds());
}

struct MprotectErrorCase {
  const char* what;
  size_t addr_offset;  // into a 3-page mapping whose middle page is unmapped
  size_t pages;
  int prot;
  int expected_errno;
};
void PrintTo(const MprotectErrorCase& c, std::ostream* os) { *os << c.what; }

class MprotectErrorTest : public ::testing::TestWithParam<MprotectErrorCase> {};

TEST_P(MprotectErrorTest, FailsWithTheDocumentedErrno) {
  REQUIREMENTS("MMAP.MPROTECT.ERRORS");
  const MprotectErrorCase& c = GetParam();
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(3 * PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE));
  ASSERT_THAT(munmap(map.bytes() + PageSize(), PageSize()), SyscallSucceeds());
  EXPECT_THAT(mprotect(map.bytes() + c.addr_offset, c.pages * PageSize(), c.prot),
              SyscallFailsWithErrno(c.expected_errno));
  // POSIX lets a failure other than EINVAL change some pages already.
  if (c.expected_errno == EINVAL) {
    EXPECT_EQ(FindMapsEntry(map.get())->perms, "rw-p");
  }
}

INSTANTIATE_TEST_SUITE_P(Table, MprotectErrorTest,
                         ::testing::Values(MprotectErrorCase{"UnalignedAddress", 1, 1, PROT_READ, EINVAL},
                                           MprotectErrorCase{"UnknownProtBit", 0, 1, PROT_READ | 0x100, EINVAL},
                                           MprotectErrorCase{"UnmappedPage", PageSize(), 1, PROT_READ, ENOMEM},
                                           MprotectErrorCase{"RangeWithAnUnmappedPage", 0, 3, PROT_READ, ENOMEM}),
                         [](const auto& info) { return std::string(info.param.what); });

}  // namespace
}  // namespace shmconform
