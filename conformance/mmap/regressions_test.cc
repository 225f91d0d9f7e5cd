// Known kernel regressions of the mmap family, each as a test that fails on
// a kernel without the fix. The catalog entry of each requirement names the
// fixing commit (fixed_by) and the first release with it (first_fixed).
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mmap_helpers.h"
#include "shmconform/kernel_version.h"
#include "shmconform/shmconform.h"

namespace shmconform {
namespace {

using ::testing::Field;
using ::testing::Optional;

// A file whose page i is filled with the letter 'A' + i.
SysResult<TempFile> LetteredFile(int pages) {
  auto file = TempFile::Create(static_cast<off_t>(pages) * PageSize());
  if (!file.ok()) return file;
  std::string page(PageSize(), 'A');
  for (int i = 0; i < pages; ++i) {
    page.assign(PageSize(), static_cast<char>('A' + i));
    if (pwrite(file.value().fd(), page.data(), page.size(), static_cast<off_t>(i) * PageSize()) !=
        static_cast<ssize_t>(page.size()))
      return SysResult<TempFile>::Error(errno, "pwrite");
  }
  return file;
}

// Linux 6.3 (fixed in 6.4): a file mapping moved by mremap right below a
// mapping of the following file pages merged with it, but kept that mapping's
// file offset, so the moved page showed the wrong part of the file.
TEST(MmapRegressionTest, MremapBelowTheNextFilePagesKeepsEachPagesOffset) {
  REQUIREMENTS("MMAP.REGRESSION.MREMAP_MERGE_NEXT_OFFSET");
  // Page D is never mapped here: a kernel that gives the merged mapping a
  // wrong offset then shows a wrong letter instead of faulting past the end
  // of the file.
  auto file = ASSERT_NO_ERRNO_AND_VALUE(LetteredFile(4));
  // Page A mapped first, so the kernel cannot place it in the hole below.
  void* page_a = mmap(nullptr, PageSize(), PROT_READ, MAP_SHARED, file.fd(), 0);
  ASSERT_THAT(page_a, SyscallSucceeds());
  Mapping page_a_owner(page_a, PageSize());
  auto reserved = ASSERT_NO_ERRNO_AND_VALUE(Reserve(4));
  char* const base = reserved.bytes();
  // Pages B and C of the file at base+1..base+3, a hole at base.
  ASSERT_THAT(mmap(base + PageSize(), 2 * PageSize(), PROT_READ, MAP_SHARED | MAP_FIXED, file.fd(), PageSize()),
              SyscallSucceedsWithValue(base + PageSize()));
  ASSERT_THAT(munmap(base, PageSize()), SyscallSucceeds());
  ASSERT_THAT(mremap(page_a, PageSize(), PageSize(), MREMAP_MAYMOVE | MREMAP_FIXED, base),
              SyscallSucceedsWithValue(base));
  page_a_owner.release();  // moved into the reservation, which unmaps it
  EXPECT_EQ(base[0], 'A') << "the moved page shows the wrong file offset";
  EXPECT_EQ(base[PageSize()], 'B');
  EXPECT_EQ(base[2 * PageSize()], 'C');
}

// Before Linux 4.14 mremap with old_size 0 on a private mapping made a new,
// unrelated private mapping; since then it fails with EINVAL.
TEST(MmapRegressionTest, MremapDuplicatingAPrivateMappingFailsWithEINVAL) {
  REQUIREMENTS("MMAP.REGRESSION.MREMAP_DUPLICATE_PRIVATE");
  SKIP_UNLESS_KERNEL_HAS(linux_feature::kMremapDuplicatePrivateEinval);
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE));
  std::strcpy(map.bytes(), "private");
  void* dup = mremap(map.get(), 0, PageSize(), MREMAP_MAYMOVE);
  if (dup != MAP_FAILED) munmap(dup, PageSize());
  EXPECT_THAT(dup, SyscallFailsWithErrno(EINVAL));
  EXPECT_STREQ(map.bytes(), "private");
}

// In the Linux 6.3 merge window (never in a release): when mprotect's first
// piece merged with the next mapping, the rest of the range was handled from
// the piece's stale end, so mprotect saw a hole there and failed with ENOMEM.
TEST(MmapRegressionTest, MprotectMergingWithTheNextMappingProtectsTheWholeRange) {
  REQUIREMENTS("MMAP.REGRESSION.MPROTECT_MERGE_NEXT");
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(4 * PageSize(), PROT_READ, MAP_PRIVATE));
  char* const p = map.bytes();
  ASSERT_THAT(mprotect(p + 2 * PageSize(), 2 * PageSize(), PROT_READ | PROT_WRITE), SyscallSucceeds());
  // [p+1, p+4): its first page becomes like the next mapping and merges with it.
  ASSERT_THAT(mprotect(p + PageSize(), 3 * PageSize(), PROT_READ | PROT_WRITE), SyscallSucceeds());
  EXPECT_THAT(FindMapsEntry(p), Optional(Field(&MapsEntry::perms, "r--p")));
  for (int page = 1; page < 4; ++page) {
    EXPECT_THAT(FindMapsEntry(p + page * PageSize()), Optional(Field(&MapsEntry::perms, "rw-p"))) << "page " << page;
  }
  EXPECT_THAT(RunInChild([p] { std::memset(p + PageSize(), 'w', 3 * PageSize()); }), ExitedWithCode(0));
}

}  // namespace
}  // namespace shmconform
