// madvise(2) and posix_madvise: advice that changes contents (MADV_DONTNEED,
// MADV_WIPEONFORK), what a child inherits (MADV_DONTFORK), and the errors.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mmap_helpers.h"
#include "shmconform/kernel_version.h"
#include "shmconform/shmconform.h"

namespace shmconform {
namespace {

constexpr int kRW = PROT_READ | PROT_WRITE;

TEST(MadviseTest, DontneedZeroesPrivateAnonymousPages) {
  REQUIREMENTS("MMAP.MADVISE.DONTNEED_PRIVATE_ANON_ZEROES");
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(2 * PageSize(), kRW, MAP_PRIVATE));
  std::memset(map.bytes(), 'a', 2 * PageSize());
  ASSERT_THAT(madvise(map.get(), PageSize(), MADV_DONTNEED), SyscallSucceeds());
  EXPECT_EQ(NonZeroBytes(map.bytes(), PageSize()), 0u);
  EXPECT_EQ(map.bytes()[PageSize()], 'a');  // outside the range: kept
}

TEST(MadviseTest, DontneedKeepsSharedData) {
  REQUIREMENTS("MMAP.MADVISE.DONTNEED_SHARED_KEEPS");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create(PageSize()));
  auto filemap = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(nullptr, PageSize(), kRW, MAP_SHARED, file.fd(), 0));
  auto anon = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), kRW, MAP_SHARED));
  for (const Mapping* m : {&filemap, &anon}) {
    std::strcpy(m->bytes(), "shared data");
    ASSERT_THAT(madvise(m->get(), PageSize(), MADV_DONTNEED), SyscallSucceeds());
    EXPECT_STREQ(m->bytes(), "shared data");
  }
  EXPECT_EQ(PreadString(file.fd(), 11), "shared data");
}

TEST(MadviseTest, DontneedRevertsPrivateFilePagesToTheFileContents) {
  REQUIREMENTS("MMAP.MADVISE.DONTNEED_PRIVATE_FILE_REVERTS");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(FileHolding("file contents", PageSize()));
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(nullptr, PageSize(), kRW, MAP_PRIVATE, file.fd(), 0));
  std::strcpy(map.bytes(), "private copy!");
  ASSERT_THAT(madvise(map.get(), PageSize(), MADV_DONTNEED), SyscallSucceeds());
  EXPECT_STREQ(map.bytes(), "file contents");
}

TEST(MadviseTest, DontforkLeavesTheChildWithoutTheMapping) {
  REQUIREMENTS("MMAP.MADVISE.DONTFORK");
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), kRW, MAP_PRIVATE));
  std::strcpy(map.bytes(), "parent only");
  ASSERT_THAT(madvise(map.get(), PageSize(), MADV_DONTFORK), SyscallSucceeds());
  volatile char* p = map.bytes() + 5;
  EXPECT_THAT(RunInChild([p] { (void)*p; }), FaultedWith(SIGSEGV, SEGV_MAPERR, p));
  EXPECT_STREQ(map.bytes(), "parent only");
  ASSERT_THAT(madvise(map.get(), PageSize(), MADV_DOFORK), SyscallSucceeds());
  EXPECT_THAT(RunInChild([p] { CHILD_CHECK(*p == 't'); }), ExitedWithCode(0));  // inherited again
}

TEST(MadviseTest, WipeonforkGivesTheChildZeros) {
  REQUIREMENTS("MMAP.MADVISE.WIPEONFORK");
  SKIP_UNLESS_KERNEL_HAS(linux_feature::kMadvWipeonfork);
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(2 * PageSize(), kRW, MAP_PRIVATE));
  std::memset(map.bytes(), 's', 2 * PageSize());
  if (madvise(map.get(), PageSize(), MADV_WIPEONFORK) != 0 && errno == EINVAL)
    FEATURE_MISSING(linux_feature::kMadvWipeonfork, "madvise fails with EINVAL");
  char* p = map.bytes();
  const size_t page = PageSize();
  EXPECT_THAT(RunInChild([p, page] {
                for (size_t i = 0; i < page; ++i) CHILD_CHECK(p[i] == 0);
                CHILD_CHECK(p[page] == 's');  // the page without the advice is inherited
              }),
              ExitedWithCode(0));
  EXPECT_EQ(p[0], 's');  // the parent keeps its data
  ASSERT_THAT(madvise(p, PageSize(), MADV_KEEPONFORK), SyscallSucceeds());
  EXPECT_THAT(RunInChild([p] { CHILD_CHECK(p[0] == 's'); }), ExitedWithCode(0));
}

TEST(MadviseTest, WipeonforkOnASharedMappingFailsWithEINVAL) {
  REQUIREMENTS("MMAP.MADVISE.WIPEONFORK_SHARED_EINVAL");
  SKIP_UNLESS_KERNEL_HAS(linux_feature::kMadvWipeonfork);  // before it, EINVAL for an unknown advice
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), kRW, MAP_SHARED));
  EXPECT_THAT(madvise(map.get(), PageSize(), MADV_WIPEONFORK), SyscallFailsWithErrno(EINVAL));
}

// The VmFlags line of the /proc/self/smaps block of the mapping starting at
// `start` ("rd wr sh mr mw me ms sr ..."); nullopt without smaps or VmFlags.
std::optional<std::string> VmFlagsOf(const void* start) {
  const auto flags = SmapsLine(start, "VmFlags");
  if (!flags) return std::nullopt;
  return " " + *flags + " ";
}

// MADV_RANDOM and MADV_SEQUENTIAL set the mapping's read-ahead hint, which
// smaps shows as "rr" / "sr"; MADV_NORMAL clears it. MADV_WILLNEED has no
// visible state: only its result and the contents are checked.
TEST(MadviseTest, AccessPatternHintsSucceedAndKeepContents) {
  REQUIREMENTS("MMAP.MADVISE.HINTS");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(FileHolding("hinted", 2 * PageSize()));
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(nullptr, 2 * PageSize(), kRW, MAP_SHARED, file.fd(), 0));
  if (!VmFlagsOf(map.get())) GTEST_SKIP() << "no VmFlags in /proc/self/smaps: the hints' effect cannot be seen here";
  struct Hint {
    int advice;
    const char* sets;       // the VmFlags entry the advice sets, or nullptr
    const char* clears[2];  // entries it must leave unset
  };
  for (const Hint& h : {Hint{MADV_RANDOM, " rr ", {" sr ", nullptr}}, Hint{MADV_SEQUENTIAL, " sr ", {" rr ", nullptr}},
                        Hint{MADV_NORMAL, nullptr, {" rr ", " sr "}}, Hint{MADV_WILLNEED, nullptr, {" rr ", " sr "}}}) {
    EXPECT_THAT(madvise(map.get(), 2 * PageSize(), h.advice), SyscallSucceeds()) << "advice " << h.advice;
    EXPECT_STREQ(map.bytes(), "hinted");
    const std::string flags = VmFlagsOf(map.get()).value_or("");
    if (h.sets) {
      EXPECT_NE(flags.find(h.sets), std::string::npos) << "advice " << h.advice << ", VmFlags:" << flags;
    }
    for (const char* unset : h.clears) {
      if (unset) {
        EXPECT_EQ(flags.find(unset), std::string::npos) << "advice " << h.advice << ", VmFlags:" << flags;
      }
    }
  }
}

TEST(MadviseTest, PosixMadviseDontneedKeepsDataAndReportsErrorsAsReturnValue) {
  REQUIREMENTS("MMAP.MADVISE.POSIX_MADVISE");
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), kRW, MAP_PRIVATE));
  std::strcpy(map.bytes(), "advisory only");
  EXPECT_EQ(posix_madvise(map.get(), PageSize(), POSIX_MADV_DONTNEED), 0);
  EXPECT_STREQ(map.bytes(), "advisory only");
  errno = 0;
  EXPECT_EQ(posix_madvise(map.get(), PageSize(), 12345), EINVAL);
  EXPECT_EQ(errno, 0) << "posix_madvise returns the error instead of setting errno";
}

struct MadviseErrorCase {
  const char* what;
  size_t addr_offset;  // into a 3-page private mapping whose middle page is unmapped
  size_t pages;
  int advice;
  int expected_errno;
};
void PrintTo(const MadviseErrorCase& c, std::ostream* os) { *os << c.what; }

class MadviseErrorTest : public ::testing::TestWithParam<MadviseErrorCase> {};

TEST_P(MadviseErrorTest, FailsWithTheDocumentedErrno) {
  REQUIREMENTS("MMAP.MADVISE.ERRORS");
  const MadviseErrorCase& c = GetParam();
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(3 * PageSize(), kRW, MAP_PRIVATE));
  ASSERT_THAT(munmap(map.bytes() + PageSize(), PageSize()), SyscallSucceeds());
  EXPECT_THAT(madvise(map.bytes() + c.addr_offset, c.pages * PageSize(), c.advice),
              SyscallFailsWithErrno(c.expected_errno));
}

INSTANTIATE_TEST_SUITE_P(Table, MadviseErrorTest,
                         ::testing::Values(MadviseErrorCase{"UnalignedAddress", 1, 1, MADV_NORMAL, EINVAL},
                                           MadviseErrorCase{"UnknownAdvice", 0, 1, 12345, EINVAL},
                                           MadviseErrorCase{"UnmappedPage", PageSize(), 1, MADV_NORMAL, ENOMEM},
                                           MadviseErrorCase{"RangeWithAnUnmappedPage", 0, 3, MADV_WILLNEED, ENOMEM}),
                         [](const auto& info) { return std::string(info.param.what); });

}  // namespace
}  // namespace shmconform
