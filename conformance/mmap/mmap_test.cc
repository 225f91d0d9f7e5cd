// mmap(2): arguments and their errors, placement (MAP_FIXED, hints),
// protection faults, end of file, and what /proc/self/maps shows.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mmap_helpers.h"
#include "shmconform/kernel_version.h"
#include "shmconform/raw_syscalls.h"
#include "shmconform/shmconform.h"

namespace shmconform {
namespace {

using ::testing::Field;
using ::testing::Optional;

// A flag bit no architecture we run on defines (bits 21-25 are unassigned).
constexpr int kUnknownMapFlag = 1 << 21;

enum class FdKind { kNone, kReadWrite, kReadOnly, kWriteOnly, kClosed, kPipe, kDirectory, kDevNull };

struct MmapErrorCase {
  const char* what;
  const char* requirement;
  FdKind fd;
  size_t pages_x2;  // length in half pages; SIZE_MAX: SIZE_MAX bytes; SIZE_MAX - 1: the largest page multiple
  int prot;
  int flags;
  off_t offset_halfpages;
  int expected_errno;
  const LinuxFeature* needs = nullptr;       // the release that added what the row checks
  CallVariant variant = CallVariant::kLibc;  // through glibc, or the raw system call
};
void PrintTo(const MmapErrorCase& c, std::ostream* os) { PrintRequirementRow(c.what, c.requirement, os); }

// Opens the descriptor a case needs; `file` is a one-page scratch file.
SysResult<UniqueFd> FdFor(FdKind kind, const TempFile& file, const TempDir& dir) {
  switch (kind) {
    case FdKind::kNone: return SysResult<UniqueFd>::Ok(UniqueFd());
    case FdKind::kReadWrite: return Open(file.path(), O_RDWR);
    case FdKind::kReadOnly: return Open(file.path(), O_RDONLY);
    case FdKind::kWriteOnly: return Open(file.path(), O_WRONLY);
    case FdKind::kDirectory: return Open(dir.path(), O_RDONLY | O_DIRECTORY);
    case FdKind::kDevNull: return Open("/dev/null", O_RDWR);
    case FdKind::kClosed: {
      auto fd = Open(file.path(), O_RDONLY);
      if (fd.ok()) close(fd.value().release());  // a number that names no open file now
      return fd;
    }
    case FdKind::kPipe: {
      int fds[2];
      if (pipe(fds) != 0) return SysResult<UniqueFd>::Error(errno, "pipe");
      close(fds[1]);
      return SysResult<UniqueFd>::Ok(UniqueFd(fds[0]));
    }
  }
  return SysResult<UniqueFd>::Error(EINVAL, "FdFor");
}

class MmapErrorTest : public ::testing::TestWithParam<MmapErrorCase> {};

TEST_P(MmapErrorTest, FailsWithMapFailedAndTheDocumentedErrno) {
  const MmapErrorCase& c = GetParam();
  REQUIREMENTS("MMAP.MMAP.FAILURE_RETURNS_MAP_FAILED");
  ROW_REQUIREMENTS(c.requirement);
  RecordRequirements({c.requirement, "MMAP.MMAP.FAILURE_RETURNS_MAP_FAILED"});  // the run's property: both
  RecordProperty("variant", VariantName(c.variant));
  if (c.needs) SKIP_UNLESS_KERNEL_HAS(*c.needs);
  if (c.fd == FdKind::kDevNull && access("/dev/null", R_OK | W_OK) != 0) GTEST_SKIP() << "no /dev/null here";
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create(PageSize()));
  auto dir = ASSERT_NO_ERRNO_AND_VALUE(TempDir::Create());
  auto fd = ASSERT_NO_ERRNO_AND_VALUE(FdFor(c.fd, file, dir));
  const int fdnum = c.fd == FdKind::kClosed ? 1000000 : (c.fd == FdKind::kNone ? -1 : fd.get());
  const size_t length = c.pages_x2 == SIZE_MAX       ? SIZE_MAX
                        : c.pages_x2 == SIZE_MAX - 1 ? SIZE_MAX - PageSize() + 1
                                                     : c.pages_x2 * (PageSize() / 2);
  const off_t offset = c.offset_halfpages == std::numeric_limits<off_t>::max()
                           ? static_cast<off_t>(std::numeric_limits<off_t>::max() & ~static_cast<off_t>(PageSize() - 1))
                           : c.offset_halfpages * static_cast<off_t>(PageSize() / 2);
  errno = 0;
  bool representable = true;
  void* p = c.variant == CallVariant::kRaw ? raw::Mmap(nullptr, length, c.prot, c.flags, fdnum, offset, &representable)
                                           : mmap(nullptr, length, c.prot, c.flags, fdnum, offset);
  const int err = errno;
  if (!representable)
    GTEST_SKIP() << "mmap2 takes the offset in 4096-byte units: this offset cannot reach the kernel unchanged";
  if (p != MAP_FAILED) munmap(p, length);
  EXPECT_EQ(p, MAP_FAILED) << "not MAP_FAILED (NULL is not the failure value either)";
  EXPECT_EQ(ErrnoName(err), ErrnoName(c.expected_errno));
}

constexpr int kRW = PROT_READ | PROT_WRITE;
constexpr off_t kMaxOffset = std::numeric_limits<off_t>::max();

// Every row once through glibc ("Table", the names users know) and once as the
// raw system call ("RawSyscall"): glibc checks some arguments itself.
std::vector<MmapErrorCase> ErrorRows(CallVariant variant) {
  std::vector<MmapErrorCase> rows = {
      MmapErrorCase{"NeitherSharedNorPrivate", "MMAP.MMAP.NO_TYPE_EINVAL", FdKind::kReadWrite, 2, kRW, 0, 0, EINVAL},
      MmapErrorCase{"NeitherSharedNorPrivateAnonymous", "MMAP.MMAP.NO_TYPE_EINVAL", FdKind::kNone, 2, kRW,
                    MAP_ANONYMOUS, 0, EINVAL},
      MmapErrorCase{"ZeroLength", "MMAP.MMAP.ZERO_LENGTH_EINVAL", FdKind::kReadWrite, 0, kRW, MAP_SHARED, 0, EINVAL},
      MmapErrorCase{"ZeroLengthAnonymous", "MMAP.MMAP.ZERO_LENGTH_EINVAL", FdKind::kNone, 0, kRW,
                    MAP_PRIVATE | MAP_ANONYMOUS, 0, EINVAL},
      MmapErrorCase{"OffsetNotPageMultiple", "MMAP.MMAP.OFFSET_UNALIGNED_EINVAL", FdKind::kReadWrite, 2, kRW,
                    MAP_SHARED, 1, EINVAL},
      MmapErrorCase{"UnknownFlagWithSharedValidate", "MMAP.MMAP.UNKNOWN_FLAGS_VALIDATE_EOPNOTSUPP", FdKind::kReadWrite,
                    2, kRW, MAP_SHARED_VALIDATE | kUnknownMapFlag, 0, EOPNOTSUPP, &linux_feature::kMapSharedValidate},
      MmapErrorCase{"FdMinusOneWithoutAnonymous", "MMAP.MMAP.BAD_FD_EBADF", FdKind::kNone, 2, PROT_READ, MAP_PRIVATE, 0,
                    EBADF},
      MmapErrorCase{"ClosedFd", "MMAP.MMAP.BAD_FD_EBADF", FdKind::kClosed, 2, PROT_READ, MAP_SHARED, 0, EBADF},
      MmapErrorCase{"SharedWritableOnReadOnlyFd", "MMAP.MMAP.SHARED_WRITE_NEEDS_WRITE_FD_EACCES", FdKind::kReadOnly, 2,
                    kRW, MAP_SHARED, 0, EACCES},
      MmapErrorCase{"SharedWriteOnlyProtOnReadOnlyFd", "MMAP.MMAP.SHARED_WRITE_NEEDS_WRITE_FD_EACCES",
                    FdKind::kReadOnly, 2, PROT_WRITE, MAP_SHARED, 0, EACCES},
      MmapErrorCase{"SharedReadOnWriteOnlyFd", "MMAP.MMAP.FD_NOT_READABLE_EACCES", FdKind::kWriteOnly, 2, PROT_READ,
                    MAP_SHARED, 0, EACCES},
      MmapErrorCase{"SharedWriteOnWriteOnlyFd", "MMAP.MMAP.FD_NOT_READABLE_EACCES", FdKind::kWriteOnly, 2, PROT_WRITE,
                    MAP_SHARED, 0, EACCES},
      MmapErrorCase{"PrivateOnWriteOnlyFd", "MMAP.MMAP.FD_NOT_READABLE_EACCES", FdKind::kWriteOnly, 2, PROT_READ,
                    MAP_PRIVATE, 0, EACCES},
      MmapErrorCase{"Pipe", "MMAP.MMAP.UNSUPPORTED_FILE_TYPE_ENODEV", FdKind::kPipe, 2, PROT_READ, MAP_SHARED, 0,
                    ENODEV},
      MmapErrorCase{"Directory", "MMAP.MMAP.UNSUPPORTED_FILE_TYPE_ENODEV", FdKind::kDirectory, 2, PROT_READ,
                    MAP_PRIVATE, 0, ENODEV},
      MmapErrorCase{"DevNull", "MMAP.MMAP.DEV_NULL_ENODEV", FdKind::kDevNull, 2, PROT_READ, MAP_SHARED, 0, ENODEV},
      MmapErrorCase{"OffsetPlusLengthBeyondOffsetMaximum", "MMAP.MMAP.OFFSET_OVERFLOW_EOVERFLOW", FdKind::kReadWrite, 2,
                    PROT_READ, MAP_SHARED, kMaxOffset, EOVERFLOW},
      MmapErrorCase{"LengthOfTheWholeAddressSpace", "MMAP.MMAP.NO_ROOM_ENOMEM", FdKind::kNone, SIZE_MAX, kRW,
                    MAP_PRIVATE | MAP_ANONYMOUS, 0, ENOMEM},
      MmapErrorCase{"LargestPageAlignedLength", "MMAP.MMAP.NO_ROOM_ENOMEM", FdKind::kNone, SIZE_MAX - 1, kRW,
                    MAP_PRIVATE | MAP_ANONYMOUS, 0, ENOMEM}};
  for (auto& row : rows) row.variant = variant;
  return rows;
}

std::string RowName(const ::testing::TestParamInfo<MmapErrorCase>& info) { return info.param.what; }

INSTANTIATE_TEST_SUITE_P(Table, MmapErrorTest, ::testing::ValuesIn(ErrorRows(CallVariant::kLibc)), RowName);
INSTANTIATE_TEST_SUITE_P(RawSyscall, MmapErrorTest, ::testing::ValuesIn(ErrorRows(CallVariant::kRaw)), RowName);

TEST(MmapTest, SharedAndPrivateTogetherIsSharedValidateOnLinux) {
  REQUIREMENTS("MMAP.MMAP.SHARED_AND_PRIVATE_IS_SHARED_VALIDATE");
  SKIP_UNLESS_KERNEL_HAS(linux_feature::kMapSharedValidate);
  static_assert((MAP_SHARED | MAP_PRIVATE) == MAP_SHARED_VALIDATE);
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create(PageSize()));
  auto map = ASSERT_NO_ERRNO_AND_VALUE(
      Mapping::Map(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_PRIVATE, file.fd(), 0));
  std::memcpy(map.bytes(), "shared", 6);
  EXPECT_EQ(PreadString(file.fd(), 6), "shared");  // a shared mapping, not an error
}

TEST(MmapTest, SharedIgnoresUnknownFlags) {
  REQUIREMENTS("MMAP.MMAP.SHARED_IGNORES_UNKNOWN_FLAGS");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create(PageSize()));
  auto map = ASSERT_NO_ERRNO_AND_VALUE(
      Mapping::Map(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED | kUnknownMapFlag, file.fd(), 0));
  std::memcpy(map.bytes(), "ignored", 7);
  EXPECT_EQ(PreadString(file.fd(), 7), "ignored");
}

TEST(MmapTest, NonFixedAddressIsPageAlignedAndNeverOverlapsAnExistingMapping) {
  REQUIREMENTS("MMAP.MMAP.HINT_NEVER_OVERLAPS");
  auto existing = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(2 * PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE));
  std::strcpy(existing.bytes(), "existing");
  auto hinted = ASSERT_NO_ERRNO_AND_VALUE(
      Mapping::Map(existing.get(), 2 * PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  EXPECT_EQ(hinted.addr() % PageSize(), 0u);
  EXPECT_TRUE(hinted.addr() + hinted.length() <= existing.addr() ||
              existing.addr() + existing.length() <= hinted.addr())
      << "hinted mapping overlaps the existing one";
  EXPECT_STREQ(existing.bytes(), "existing");
}

TEST(MmapTest, FixedMapsAtExactlyTheAddress) {
  REQUIREMENTS("MMAP.MMAP.FIXED_EXACT_ADDRESS");
  auto reserved = ASSERT_NO_ERRNO_AND_VALUE(Reserve(3));
  void* want = reserved.bytes() + PageSize();
  EXPECT_THAT(mmap(want, PageSize(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
              SyscallSucceedsWithValue(want));
  EXPECT_THAT(FindMapsEntry(want), Optional(Field(&MapsEntry::perms, "r--p")));
}

TEST(MmapTest, FixedReplacesWhatWasMappedThere) {
  REQUIREMENTS("MMAP.MMAP.FIXED_REPLACES");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(FileHolding("file contents", PageSize()));
  auto old = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(2 * PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE));
  std::memset(old.bytes(), 'o', old.length());
  ASSERT_THAT(mmap(old.get(), PageSize(), PROT_READ, MAP_SHARED | MAP_FIXED, file.fd(), 0),
              SyscallSucceedsWithValue(old.get()));
  EXPECT_EQ(std::string(old.bytes(), 14), std::string("file contents", 14));  // old contents gone
  EXPECT_EQ(old.bytes()[PageSize()], 'o');                                    // the page not covered is untouched
}

TEST(MmapTest, FixedAtUnalignedAddressFailsWithEINVAL) {
  REQUIREMENTS("MMAP.MMAP.FIXED_UNALIGNED");
  auto reserved = ASSERT_NO_ERRNO_AND_VALUE(Reserve(2));
  EXPECT_THAT(mmap(reserved.bytes() + 1, PageSize(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(FindMapsEntry(reserved.get()), Optional(Field(&MapsEntry::perms, "---p")));  // left alone
}

TEST(MmapTest, FixedNoreplaceOverAnExistingMappingFailsWithEEXISTAndKeepsIt) {
  REQUIREMENTS("MMAP.MMAP.FIXED_NOREPLACE_EEXIST");
  SKIP_UNLESS_KERNEL_HAS(linux_feature::kMapFixedNoreplace);
  auto existing = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(2 * PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE));
  std::strcpy(existing.bytes() + PageSize(), "intact");
  EXPECT_THAT(mmap(existing.bytes() + PageSize(), 2 * PageSize(), PROT_READ,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0),
              SyscallFailsWithErrno(EEXIST));
  EXPECT_STREQ(existing.bytes() + PageSize(), "intact");
}

TEST(MmapTest, FixedNoreplaceOnAFreeRangeMapsAtTheAddress) {
  REQUIREMENTS("MMAP.MMAP.FIXED_NOREPLACE_FREE");
  // Before it the flag is unknown and ignored: a plain hint, which would pass.
  SKIP_UNLESS_KERNEL_HAS(linux_feature::kMapFixedNoreplace);
  void* want = FindUnmappedRange(PageSize(), PageSize());
  ASSERT_NE(want, nullptr);
  void* got = mmap(want, PageSize(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  ASSERT_THAT(got, SyscallSucceeds());
  Mapping owner(got, PageSize());
  EXPECT_EQ(got, want);
}

TEST(MmapFaultTest, ProtNoneAccessRaisesSegvAccerrAtTheAddress) {
  REQUIREMENTS("MMAP.FAULT.PROT_NONE_ACCERR");
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), PROT_NONE, MAP_PRIVATE));
  volatile char* p = map.bytes() + 123;
  EXPECT_THAT(RunInChild([p] { (void)*p; }), FaultedWith(SIGSEGV, SEGV_ACCERR, p));
  EXPECT_THAT(RunInChild([p] { *p = 1; }), FaultedWith(SIGSEGV, SEGV_ACCERR, p));
}

TEST(MmapFaultTest, WriteToReadOnlyMappingRaisesSegvAccerrAtTheAddress) {
  REQUIREMENTS("MMAP.FAULT.WRITE_READ_ONLY_ACCERR");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(FileHolding("read only", PageSize()));
  for (int flags : {MAP_SHARED, MAP_PRIVATE}) {
    auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(nullptr, PageSize(), PROT_READ, flags, file.fd(), 0));
    volatile char* p = map.bytes() + PageSize() - 1;
    EXPECT_THAT(RunInChild([p] { *p = 1; }), FaultedWith(SIGSEGV, SEGV_ACCERR, p)) << "flags " << flags;
  }
  EXPECT_EQ(PreadString(file.fd(), 9), "read only");
}

TEST(MmapFaultTest, AccessToAPageWhollyBeyondEndOfFileRaisesSigbusAdrerr) {
  REQUIREMENTS("MMAP.FAULT.BEYOND_EOF_SIGBUS");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(FileHolding("short", 5));
  for (int flags : {MAP_SHARED, MAP_PRIVATE}) {
    auto map =
        ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(nullptr, 3 * PageSize(), PROT_READ | PROT_WRITE, flags, file.fd(), 0));
    volatile char* second = map.bytes() + PageSize();
    volatile char* third = map.bytes() + 2 * PageSize() + 9;
    EXPECT_THAT(RunInChild([second] { (void)*second; }), FaultedWith(SIGBUS, BUS_ADRERR, second)) << flags;
    EXPECT_THAT(RunInChild([third] { *third = 1; }), FaultedWith(SIGBUS, BUS_ADRERR, third)) << flags;
  }
}

// The file ends 10 bytes into the page; the rest of the page is mapped.
SysResult<TempFile> TenByteFileWithStoresPastItsEnd() {
  auto file = FileHolding("0123456789", 10);
  if (!file.ok()) return file;
  void* p = mmap(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, file.value().fd(), 0);
  if (p == MAP_FAILED) return SysResult<TempFile>::Error(errno, "mmap");
  std::memset(static_cast<char*>(p) + 10, 't', PageSize() - 10);
  const int synced = msync(p, PageSize(), MS_SYNC);
  munmap(p, PageSize());
  if (synced != 0) return SysResult<TempFile>::Error(errno, "msync");
  return file;
}

TEST(MmapFaultTest, TailOfTheLastPageReadsZeroAndIsNeverWrittenToTheFile) {
  REQUIREMENTS("MMAP.FAULT.EOF_TAIL_ZERO_NOT_WRITTEN");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(FileHolding("0123456789", 10));
  auto map =
      ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, file.fd(), 0));
  EXPECT_EQ(NonZeroBytes(map.bytes() + 10, PageSize() - 10), 0u);
  map.reset();
  auto stored = ASSERT_NO_ERRNO_AND_VALUE(TenByteFileWithStoresPastItsEnd());
  EXPECT_EQ(FileSize(stored.fd()), 10);
  EXPECT_EQ(ReadThroughNewFd(stored.path(), PageSize()), "0123456789");
}

// POSIX: stores past the end "shall not be written out to the file", so
// growing the file afterwards must show zeros there, not those stores.
TEST(MmapFaultTest, ExtendingTheFileDoesNotExposeStoresMadePastItsOldEnd) {
  REQUIREMENTS("MMAP.FAULT.EOF_TAIL_NOT_EXPOSED_BY_EXTEND");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TenByteFileWithStoresPastItsEnd());
  ASSERT_THAT(ftruncate(file.fd(), PageSize()), SyscallSucceeds());
  const std::string tail = PreadString(file.fd(), PageSize() - 10, 10);
  ASSERT_EQ(tail.size(), PageSize() - 10);
  EXPECT_EQ(NonZeroBytes(tail.data(), tail.size()), 0u) << "stores made past the old end of file reappeared";
}

TEST(MmapFaultTest, TruncatedPagesRaiseSigbusAndReadZeroWhenTheFileGrowsAgain) {
  REQUIREMENTS("MMAP.FAULT.TRUNCATE_SIGBUS", "MMAP.FAULT.REEXTEND_ZERO");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create(2 * PageSize()));
  auto map = ASSERT_NO_ERRNO_AND_VALUE(
      Mapping::Map(nullptr, 2 * PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, file.fd(), 0));
  std::memset(map.bytes(), 'd', 2 * PageSize());
  ASSERT_THAT(ftruncate(file.fd(), PageSize()), SyscallSucceeds());
  volatile char* cut = map.bytes() + PageSize() + 1;
  EXPECT_THAT(RunInChild([cut] { (void)*cut; }), FaultedWith(SIGBUS, BUS_ADRERR, cut));
  EXPECT_EQ(map.bytes()[PageSize() - 1], 'd');  // the page still inside the file is kept
  ASSERT_THAT(ftruncate(file.fd(), 2 * PageSize()), SyscallSucceeds());
  EXPECT_EQ(NonZeroBytes(map.bytes() + PageSize(), PageSize()), 0u);
}

struct MapsCase {
  const char* what;
  int prot;
  int flags;
  bool file;
  const char* perms;
};
void PrintTo(const MapsCase& c, std::ostream* os) { *os << c.what; }

class MmapMapsTest : public ::testing::TestWithParam<MapsCase> {};

TEST_P(MmapMapsTest, ProcSelfMapsShowsProtectionAndSharing) {
  REQUIREMENTS("MMAP.MMAP.PROC_MAPS");
  const MapsCase& c = GetParam();
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create(2 * PageSize()));
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(
      nullptr, 2 * PageSize(), c.prot, c.flags | (c.file ? 0 : MAP_ANONYMOUS), c.file ? file.fd() : -1, 0));
  const auto entry = FindMapsEntry(map.bytes() + PageSize());
  ASSERT_TRUE(entry.has_value()) << "no /proc/self/maps line for the mapping";
  EXPECT_EQ(entry->perms, c.perms);
  EXPECT_EQ(entry->start, map.addr());
  EXPECT_EQ(entry->end, map.addr() + 2 * PageSize());
  if (c.file) {
    EXPECT_EQ(entry->path, file.path());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, MmapMapsTest,
    ::testing::Values(MapsCase{"SharedFileReadWrite", PROT_READ | PROT_WRITE, MAP_SHARED, true, "rw-s"},
                      MapsCase{"SharedFileReadOnly", PROT_READ, MAP_SHARED, true, "r--s"},
                      MapsCase{"PrivateFileReadWrite", PROT_READ | PROT_WRITE, MAP_PRIVATE, true, "rw-p"},
                      MapsCase{"PrivateFileNone", PROT_NONE, MAP_PRIVATE, true, "---p"},
                      MapsCase{"SharedAnonymous", PROT_READ | PROT_WRITE, MAP_SHARED, false, "rw-s"},
                      MapsCase{"PrivateAnonymousReadExec", PROT_READ | PROT_EXEC, MAP_PRIVATE, false, "r-xp"}),
    [](const auto& info) { return std::string(info.param.what); });

}  // namespace
}  // namespace shmconform
