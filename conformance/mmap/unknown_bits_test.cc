// Bits the mmap family does not know: every flag, protection and advice
// argument is tried with each bit (or value) no Linux release defines for it,
// once through the C library and once as a raw system call (test parameter
// and gtest property "variant": libc|raw).
//
// What Linux does (mm/mmap.c do_mmap, mm/mprotect.c, mm/msync.c, mm/madvise.c,
// mm/mremap.c; the man pages' ERRORS):
//   mmap flags   ignored with MAP_SHARED and MAP_PRIVATE; EOPNOTSUPP with
//                MAP_SHARED_VALIDATE (4.15+); a mapping type (flags & 0xf)
//                other than 1, 2, 3 (and 8, MAP_DROPPABLE, 6.11+): EINVAL
//   mmap prot    ignored (do_mmap never validates prot)
//   mprotect     EINVAL (arch_validate_prot; PROT_SEM is accepted)
//   msync        EINVAL for anything outside MS_ASYNC|MS_INVALIDATE|MS_SYNC
//   madvise      EINVAL for an advice value it does not know
//   mremap       EINVAL for anything outside MAYMOVE|FIXED|DONTUNMAP
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <climits>
#include <cstring>
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

constexpr int kRW = PROT_READ | PROT_WRITE;
// PROT_SEM: the kernel's name (asm-generic/mman-common.h); glibc has none.
constexpr int kProtSem = 0x8;

// Flag bits no Linux release assigns on the architectures we build for
// (0x200 and 0x400 are free in the generic and x86 layouts; bits 21-25 lie
// between MAP_FIXED_NOREPLACE and the huge page size field).
std::vector<int> UnknownMapFlagBits() {
  std::vector<int> bits = {0x200, 0x400};
  for (int b = 21; b <= 25; ++b) bits.push_back(1 << b);
  return bits;
}

// Protection bits no architecture we build for assigns: PROT_READ/WRITE/EXEC
// are bits 0-2, PROT_SEM bit 3, arm64 uses bits 4-5 (PROT_BTI, PROT_MTE),
// PROT_GROWSDOWN/UP bits 24-25.
std::vector<int> UnknownProtBits() {
  std::vector<int> bits;
  for (int b = 4; b <= 31; ++b) {
    if (b == 24 || b == 25) continue;
#if defined(__aarch64__)
    if (b == 4 || b == 5) continue;
#endif
    bits.push_back(static_cast<int>(1u << b));
  }
  return bits;
}

std::string Hex(long v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%#lx", static_cast<unsigned long>(v));
  return buf;
}

class UnknownBitsTest : public ::testing::TestWithParam<CallVariant> {
 protected:
  void SetUp() override { RecordProperty("variant", VariantName(GetParam())); }
  bool raw() const { return GetParam() == CallVariant::kRaw; }

  void* Mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) const {
    return raw() ? raw::Mmap(addr, length, prot, flags, fd, offset) : mmap(addr, length, prot, flags, fd, offset);
  }
  int Mprotect(void* addr, size_t length, int prot) const {
    return raw() ? raw::Mprotect(addr, length, prot) : mprotect(addr, length, prot);
  }
  int Msync(void* addr, size_t length, int flags) const {
    return raw() ? raw::Msync(addr, length, flags) : msync(addr, length, flags);
  }
  int Madvise(void* addr, size_t length, int advice) const {
    return raw() ? raw::Madvise(addr, length, advice) : madvise(addr, length, advice);
  }
  void* Mremap(void* old_address, size_t old_size, size_t new_size, int flags) const {
    return raw() ? raw::Mremap(old_address, old_size, new_size, flags) : mremap(old_address, old_size, new_size, flags);
  }
};

TEST_P(UnknownBitsTest, MmapIgnoresUnknownFlagBitsWithSharedAndPrivate) {
  REQUIREMENTS("MMAP.MMAP.UNKNOWN_FLAGS_IGNORED");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create(PageSize()));
  for (int bit : UnknownMapFlagBits()) {
    void* shared = Mmap(nullptr, PageSize(), kRW, MAP_SHARED | bit, file.fd(), 0);
    ASSERT_THAT(shared, SyscallSucceeds()) << "MAP_SHARED|" << Hex(bit);
    Mapping shared_owner(shared, PageSize());
    std::memcpy(shared, "shared", 6);
    EXPECT_EQ(PreadString(file.fd(), 6), "shared") << "MAP_SHARED|" << Hex(bit) << " is not a shared file mapping";
    void* priv = Mmap(nullptr, PageSize(), kRW, MAP_PRIVATE | MAP_ANONYMOUS | bit, -1, 0);
    ASSERT_THAT(priv, SyscallSucceeds()) << "MAP_PRIVATE|MAP_ANONYMOUS|" << Hex(bit);
    Mapping priv_owner(priv, PageSize());
    EXPECT_THAT(FindMapsEntry(priv), Optional(Field(&MapsEntry::perms, "rw-p"))) << Hex(bit);
    ASSERT_THAT(pwrite(file.fd(), "\0\0\0\0\0\0", 6, 0), SyscallSucceedsWithValue(6));
  }
}

TEST_P(UnknownBitsTest, MmapWithSharedValidateRejectsUnknownFlagBitsWithEOPNOTSUPP) {
  REQUIREMENTS("MMAP.MMAP.UNKNOWN_FLAGS_VALIDATE_EOPNOTSUPP");
  SKIP_UNLESS_KERNEL_HAS(linux_feature::kMapSharedValidate);
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create(PageSize()));
  void* plain = Mmap(nullptr, PageSize(), kRW, MAP_SHARED_VALIDATE, file.fd(), 0);
  if (plain == MAP_FAILED && errno == EINVAL)
    FEATURE_MISSING(linux_feature::kMapSharedValidate, "mmap with it alone fails with EINVAL");
  ASSERT_THAT(plain, SyscallSucceeds());
  Mapping plain_owner(plain, PageSize());
  for (int bit : UnknownMapFlagBits()) {
    void* p = Mmap(nullptr, PageSize(), kRW, MAP_SHARED_VALIDATE | bit, file.fd(), 0);
    if (p != MAP_FAILED) munmap(p, PageSize());
    EXPECT_THAT(p, SyscallFailsWithErrno(EOPNOTSUPP)) << "MAP_SHARED_VALIDATE|" << Hex(bit);
  }
}

TEST_P(UnknownBitsTest, MmapRejectsAnUnknownMappingTypeWithEINVAL) {
  REQUIREMENTS("MMAP.MMAP.UNKNOWN_TYPE_EINVAL");
  // The type field is flags & 0xf: 1 shared, 2 private, 3 shared-validate,
  // 8 MAP_DROPPABLE (6.11); 0 is covered by the error table.
  for (int type : {4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15}) {
    void* p = Mmap(nullptr, PageSize(), kRW, type | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) munmap(p, PageSize());
    EXPECT_THAT(p, SyscallFailsWithErrno(EINVAL)) << "mapping type " << type;
  }
}

TEST_P(UnknownBitsTest, MmapIgnoresUnknownProtectionBits) {
  REQUIREMENTS("MMAP.MMAP.UNKNOWN_PROT_IGNORED");
  for (int bit : UnknownProtBits()) {
    void* p = Mmap(nullptr, PageSize(), kRW | bit, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_THAT(p, SyscallSucceeds()) << "prot PROT_READ|PROT_WRITE|" << Hex(bit);
    Mapping owner(p, PageSize());
    EXPECT_THAT(FindMapsEntry(p), Optional(Field(&MapsEntry::perms, "rw-p"))) << Hex(bit);
  }
}

TEST_P(UnknownBitsTest, MprotectRejectsUnknownProtectionBitsWithEINVAL) {
  REQUIREMENTS("MMAP.MPROTECT.UNKNOWN_PROT_EINVAL");
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), PROT_READ, MAP_PRIVATE));
  for (int bit : UnknownProtBits()) {
    EXPECT_THAT(Mprotect(map.get(), PageSize(), kRW | bit), SyscallFailsWithErrno(EINVAL)) << Hex(bit);
  }
  EXPECT_THAT(FindMapsEntry(map.get()), Optional(Field(&MapsEntry::perms, "r--p")));  // nothing changed
  // PROT_SEM (bit 3) is known and accepted.
  EXPECT_THAT(Mprotect(map.get(), PageSize(), kRW | kProtSem), SyscallSucceeds());
  EXPECT_THAT(FindMapsEntry(map.get()), Optional(Field(&MapsEntry::perms, "rw-p")));
}

TEST_P(UnknownBitsTest, MsyncRejectsEveryUnknownFlagBitWithEINVAL) {
  REQUIREMENTS("MMAP.MSYNC.UNKNOWN_FLAGS_EINVAL");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create(PageSize()));
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(nullptr, PageSize(), kRW, MAP_SHARED, file.fd(), 0));
  for (int b = 3; b <= 31; ++b) {
    const int bit = static_cast<int>(1u << b);
    EXPECT_THAT(Msync(map.get(), PageSize(), MS_ASYNC | bit), SyscallFailsWithErrno(EINVAL)) << Hex(bit);
  }
  EXPECT_THAT(Msync(map.get(), PageSize(), MS_ASYNC), SyscallSucceeds());
}

TEST_P(UnknownBitsTest, MadviseRejectsUnknownAdviceWithEINVAL) {
  REQUIREMENTS("MMAP.MADVISE.UNKNOWN_ADVICE_EINVAL");
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), kRW, MAP_PRIVATE));
  std::strcpy(map.bytes(), "kept");
  // 5-7 were never assigned; the known values end at 25 (MADV_COLLAPSE) and
  // 100-103 (hwpoison and guard regions).
  for (int advice : {5, 6, 7, 99, 104, 1000, 65536, INT_MAX, -1, INT_MIN}) {
    EXPECT_THAT(Madvise(map.get(), PageSize(), advice), SyscallFailsWithErrno(EINVAL)) << "advice " << advice;
  }
  EXPECT_STREQ(map.bytes(), "kept");
}

// Each attempt runs in a child: an mremap that accepts a bit it should refuse
// may move or unmap memory the test process still needs.
TEST_P(UnknownBitsTest, MremapRejectsEveryUnknownFlagBitWithEINVAL) {
  REQUIREMENTS("MMAP.MREMAP.UNKNOWN_FLAGS_EINVAL");
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(2 * PageSize(), kRW, MAP_PRIVATE));
  std::strcpy(map.bytes(), "kept");
  char* const p = map.bytes();
  const bool use_raw = raw();
  const size_t page = PageSize();
  for (int b = 3; b <= 31; ++b) {
    const int flags = MREMAP_MAYMOVE | static_cast<int>(1u << b);
    EXPECT_THAT(RunInChild([p, page, flags, use_raw] {
                  void* moved = use_raw ? raw::Mremap(p, 2 * page, page, flags) : mremap(p, 2 * page, page, flags);
                  CHILD_CHECK(moved == MAP_FAILED && errno == EINVAL);
                  CHILD_CHECK(msync(p + page, page, MS_ASYNC) == 0);  // not shrunk
                  CHILD_CHECK(std::strcmp(p, "kept") == 0);
                }),
                ExitedWithCode(0))
        << Hex(1L << b);
  }
}

INSTANTIATE_TEST_SUITE_P(Variant, UnknownBitsTest, ::testing::Values(CallVariant::kLibc, CallVariant::kRaw),
                         VariantParamName<::testing::TestParamInfo<CallVariant>>);

}  // namespace
}  // namespace shmconform
