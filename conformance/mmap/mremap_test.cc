// mremap(2): shrinking, growing in place, moving, and MREMAP_FIXED.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <ostream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mmap_helpers.h"
#include "shmconform/kernel_version.h"
#include "shmconform/shmconform.h"

namespace shmconform {
namespace {

constexpr int kRW = PROT_READ | PROT_WRITE;
constexpr int kAnonFixed = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

// Inside a reserved range: one read-write page at the start with `text`, the
// next page either free (room to grow) or taken by another mapping.
char* PlaceFirstPage(const Mapping& reserved, bool room_after, const char* text) {
  char* base = reserved.bytes();
  if (mmap(base, PageSize(), kRW, kAnonFixed, -1, 0) != base) return nullptr;
  std::strcpy(base, text);
  if (room_after ? munmap(base + PageSize(), PageSize()) != 0
                 : mmap(base + PageSize(), PageSize(), PROT_READ, kAnonFixed, -1, 0) == MAP_FAILED)
    return nullptr;
  return base;
}

TEST(MremapTest, ShrinkKeepsTheAddressAndHeadAndUnmapsTheTail) {
  REQUIREMENTS("MMAP.MREMAP.SHRINK");
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(3 * PageSize(), kRW, MAP_PRIVATE));
  std::strcpy(map.bytes(), "head");
  EXPECT_THAT(mremap(map.get(), 3 * PageSize(), PageSize(), 0), SyscallSucceedsWithValue(map.get()));
  EXPECT_STREQ(map.bytes(), "head");
  volatile char* tail = map.bytes() + PageSize();
  EXPECT_THAT(RunInChild([tail] { (void)*tail; }), FaultedWith(SIGSEGV, SEGV_MAPERR, tail));
  EXPECT_FALSE(IsMapped(map.bytes() + 2 * PageSize()));
}

TEST(MremapTest, GrowInPlaceWhenThereIsRoom) {
  REQUIREMENTS("MMAP.MREMAP.GROW_IN_PLACE");
  auto reserved = ASSERT_NO_ERRNO_AND_VALUE(Reserve(3));
  char* base = PlaceFirstPage(reserved, /*room_after=*/true, "grown");
  ASSERT_NE(base, nullptr);
  ASSERT_THAT(mremap(base, PageSize(), 2 * PageSize(), 0), SyscallSucceedsWithValue(base));
  EXPECT_STREQ(base, "grown");
  EXPECT_EQ(NonZeroBytes(base + PageSize(), PageSize()), 0u);
  base[2 * PageSize() - 1] = 'w';  // the new page is read-write like the old one
  EXPECT_EQ(FindMapsEntry(base)->end, reinterpret_cast<uintptr_t>(base + 2 * PageSize()));
}

TEST(MremapTest, GrowWithoutRoomAndWithoutMaymoveFailsWithENOMEM) {
  REQUIREMENTS("MMAP.MREMAP.GROW_NO_ROOM_ENOMEM");
  auto reserved = ASSERT_NO_ERRNO_AND_VALUE(Reserve(3));
  char* base = PlaceFirstPage(reserved, /*room_after=*/false, "stays");
  ASSERT_NE(base, nullptr);
  EXPECT_THAT(mremap(base, PageSize(), 2 * PageSize(), 0), SyscallFailsWithErrno(ENOMEM));
  EXPECT_STREQ(base, "stays");
  EXPECT_EQ(FindMapsEntry(base + PageSize())->perms, "r--p");  // the neighbour is untouched
}

TEST(MremapTest, GrowWithMaymoveMovesKeepsDataAndUnmapsTheOldRange) {
  REQUIREMENTS("MMAP.MREMAP.MAYMOVE");
  auto reserved = ASSERT_NO_ERRNO_AND_VALUE(Reserve(3));
  char* base = PlaceFirstPage(reserved, /*room_after=*/false, "moved data");
  ASSERT_NE(base, nullptr);
  void* moved = mremap(base, PageSize(), 4 * PageSize(), MREMAP_MAYMOVE);
  ASSERT_THAT(moved, SyscallSucceeds());
  Mapping owner(moved, 4 * PageSize());
  EXPECT_NE(moved, base);
  EXPECT_STREQ(owner.bytes(), "moved data");
  EXPECT_EQ(owner.bytes()[4 * PageSize() - 1], '\0');
  volatile char* old = base;
  EXPECT_THAT(RunInChild([old] { (void)*old; }), FaultedWith(SIGSEGV, SEGV_MAPERR, old));
}

TEST(MremapTest, FixedMovesToExactlyTheNewAddressReplacingWhatWasThere) {
  REQUIREMENTS("MMAP.MREMAP.FIXED");
  auto source = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), kRW, MAP_PRIVATE));
  std::strcpy(source.bytes(), "source");
  auto target = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(2 * PageSize(), kRW, MAP_PRIVATE));
  std::strcpy(target.bytes(), "target");
  ASSERT_THAT(mremap(source.get(), PageSize(), 2 * PageSize(), MREMAP_MAYMOVE | MREMAP_FIXED, target.get()),
              SyscallSucceedsWithValue(target.get()));
  EXPECT_STREQ(target.bytes(), "source");
  EXPECT_FALSE(IsMapped(source.get()));
  source.release();
}

TEST(MremapTest, DontunmapLeavesTheOldRangeMappedButEmpty) {
  REQUIREMENTS("MMAP.MREMAP.DONTUNMAP");
  SKIP_UNLESS_KERNEL_HAS(linux_feature::kMremapDontunmap);
  auto source = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), kRW, MAP_PRIVATE));
  std::strcpy(source.bytes(), "contents");
  void* moved = mremap(source.get(), PageSize(), PageSize(), MREMAP_MAYMOVE | MREMAP_DONTUNMAP, nullptr);
  if (moved == MAP_FAILED && errno == EINVAL)
    FEATURE_MISSING(linux_feature::kMremapDontunmap, "mremap fails with EINVAL");
  ASSERT_THAT(moved, SyscallSucceeds());
  Mapping owner(moved, PageSize());
  EXPECT_STREQ(owner.bytes(), "contents");
  EXPECT_EQ(source.bytes()[0], '\0');  // still mapped, now zero-filled
}

TEST(MremapTest, ZeroOldSizeOfASharedMappingCreatesASecondView) {
  REQUIREMENTS("MMAP.MREMAP.OLD_SIZE_ZERO_SHARED");
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), kRW, MAP_SHARED));
  void* view = mremap(map.get(), 0, PageSize(), MREMAP_MAYMOVE);
  ASSERT_THAT(view, SyscallSucceeds());
  Mapping owner(view, PageSize());
  ASSERT_NE(view, map.get());
  std::strcpy(map.bytes(), "same pages");
  EXPECT_STREQ(owner.bytes(), "same pages");
}

TEST(MremapTest, GrownSharedAnonymousMappingRaisesSigbusPastItsObject) {
  REQUIREMENTS("MMAP.MREMAP.GROWN_SHARED_ANON_SIGBUS");
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), kRW, MAP_SHARED));
  std::strcpy(map.bytes(), "object");
  void* grown = mremap(map.get(), PageSize(), 2 * PageSize(), MREMAP_MAYMOVE);
  ASSERT_THAT(grown, SyscallSucceeds());
  map.release();
  Mapping owner(grown, 2 * PageSize());
  EXPECT_STREQ(owner.bytes(), "object");
  volatile char* past = owner.bytes() + PageSize() + 8;
  EXPECT_THAT(RunInChild([past] { (void)*past; }), FaultedWith(SIGBUS, BUS_ADRERR, past));
}

TEST(MremapTest, MovedSharedFileMappingStillReachesTheFile) {
  REQUIREMENTS("MMAP.MREMAP.MOVED_FILE_MAPPING_SHARED");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create(2 * PageSize()));
  auto reserved = ASSERT_NO_ERRNO_AND_VALUE(Reserve(2));
  char* base = reserved.bytes();
  ASSERT_THAT(mmap(base, PageSize(), kRW, MAP_SHARED | MAP_FIXED, file.fd(), 0), SyscallSucceedsWithValue(base));
  void* moved = mremap(base, PageSize(), 2 * PageSize(), MREMAP_MAYMOVE);  // no room: the reservation follows
  ASSERT_THAT(moved, SyscallSucceeds());
  Mapping owner(moved, 2 * PageSize());
  std::strcpy(owner.bytes() + PageSize(), "second page");
  EXPECT_EQ(PreadString(file.fd(), 11, PageSize()), "second page");
}

struct MremapErrorCase {
  const char* what;
  size_t addr_offset;  // into a 3-page private mapping whose last page is unmapped
  size_t old_pages;
  size_t new_pages;
  int flags;
  size_t new_addr_offset;  // for MREMAP_FIXED
  int expected_errno;
  const LinuxFeature* needs = nullptr;  // the release that added what the row checks
};
void PrintTo(const MremapErrorCase& c, std::ostream* os) { *os << c.what; }

class MremapErrorTest : public ::testing::TestWithParam<MremapErrorCase> {};

TEST_P(MremapErrorTest, FailsWithTheDocumentedErrnoAndChangesNothing) {
  REQUIREMENTS("MMAP.MREMAP.ERRORS");
  const MremapErrorCase& c = GetParam();
  if (c.needs) SKIP_UNLESS_KERNEL_HAS(*c.needs);
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(3 * PageSize(), kRW, MAP_PRIVATE));
  std::strcpy(map.bytes(), "unchanged");
  ASSERT_THAT(munmap(map.bytes() + 2 * PageSize(), PageSize()), SyscallSucceeds());
  EXPECT_THAT(mremap(map.bytes() + c.addr_offset, c.old_pages * PageSize(), c.new_pages * PageSize(), c.flags,
                     map.bytes() + c.new_addr_offset),
              SyscallFailsWithErrno(c.expected_errno));
  EXPECT_STREQ(map.bytes(), "unchanged");
  EXPECT_EQ(FindMapsEntry(map.get())->end, map.addr() + 2 * PageSize());
}

INSTANTIATE_TEST_SUITE_P(
    Table, MremapErrorTest,
    ::testing::Values(
        MremapErrorCase{"UnalignedOldAddress", 1, 1, 2, MREMAP_MAYMOVE, 0, EINVAL},
        MremapErrorCase{"ZeroNewSize", 0, 1, 0, MREMAP_MAYMOVE, 0, EINVAL},
        MremapErrorCase{"UnknownFlag", 0, 1, 2, MREMAP_MAYMOVE | 0x100, 0, EINVAL},
        MremapErrorCase{"FixedWithoutMaymove", 0, 1, 1, MREMAP_FIXED, 2 * PageSize(), EINVAL},
        MremapErrorCase{"FixedNewRangeOverlapsOld", 0, 2, 2, MREMAP_MAYMOVE | MREMAP_FIXED, PageSize(), EINVAL},
        MremapErrorCase{"FixedUnalignedNewAddress", 0, 1, 1, MREMAP_MAYMOVE | MREMAP_FIXED, 2 * PageSize() + 1, EINVAL},
        MremapErrorCase{"OldSizeZeroOnAPrivateMapping", 0, 0, 1, MREMAP_MAYMOVE, 0, EINVAL,
                        &linux_feature::kMremapDuplicatePrivateEinval},
        MremapErrorCase{"OldRangeNotMapped", 2 * PageSize(), 1, 2, MREMAP_MAYMOVE, 0, EFAULT}),
    [](const auto& info) { return std::string(info.param.what); });

}  // namespace
}  // namespace shmconform
