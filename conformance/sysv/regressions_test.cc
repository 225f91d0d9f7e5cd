// Known kernel regressions of System V shared memory, each as a test that
// fails on a kernel without the fix. The catalog entry of each requirement
// names the fixing commit (fixed_by) and the first release with it
// (first_fixed).
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/shmconform.h"
#include "sysv_util.h"

namespace shmconform::sysv {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;

void* const kFailed = reinterpret_cast<void*>(-1);

// CVE-2017-5669: SHM_RND rounded an address below SHMLBA down to 0 and
// SHM_REMAP then mapped the segment over page 0. Fixed kernels refuse it.
TEST(SysvRegressionTest, RndRoundingDownToZeroWithRemapFailsWithEINVAL) {
  REQUIREMENTS("SYSV.REGRESSION.SHMAT_RND_REMAP_NIL_PAGE");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  const bool page_zero_was_mapped = msync(nullptr, PageSize(), MS_ASYNC) == 0;
  for (uintptr_t low : {uintptr_t{1}, Shmlba() - 1}) {
    void* p = shmat(seg.id(), reinterpret_cast<void*>(low), SHM_RND | SHM_REMAP);
    if (p != kFailed) shmdt(p);
    EXPECT_THAT(p, SyscallFailsWithErrno(EINVAL)) << "address " << low << " rounds down to 0";
  }
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_nattch, 0u);
  if (!page_zero_was_mapped) {
    EXPECT_THAT(msync(nullptr, PageSize(), MS_ASYNC), SyscallFailsWithErrno(ENOMEM)) << "page 0 is mapped now";
  }
}

// The use-after-free LTP's shmctl05 reproduces (fixed in Linux 4.17):
// remap_file_pages on an attachment while another thread removes the segment
// and reuses its id.
// Bounded: a fixed number of rounds, each at most a short while.
TEST(SysvRegressionTest, RemapFilePagesRacingWithRemovalEndsWithEINVALOrEIDRM) {
  REQUIREMENTS("SYSV.REGRESSION.RMID_REMAP_FILE_PAGES_RACE");
#if !defined(SYS_remap_file_pages)
  GTEST_SKIP() << "this architecture has no remap_file_pages system call";
#else
  auto probe = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED));
  if (syscall(SYS_remap_file_pages, probe.get(), PageSize(), 0, 0, 0) != 0 && errno == ENOSYS)
    GTEST_SKIP() << "remap_file_pages is not implemented here (ENOSYS)";
  const key_t key = UniqueIpcKey();
  std::atomic<bool> stop{false};
  std::atomic<int> remover_error{0};
  std::thread remover([&] {
    while (!stop.load()) {
      const int id = shmget(key, PageSize(), IPC_CREAT | 0600);
      if (id < 0 || shmctl(id, IPC_RMID, nullptr) != 0) {
        remover_error = errno;
        return;
      }
    }
  });
  int rounds = 0, races_seen = 0;
  timespec start{}, now{};
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;; ++rounds) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 > 50) break;
    const int id = shmget(key, PageSize(), IPC_CREAT | 0600);
    if (id < 0) continue;  // removed between the remover's create and our open
    void* addr = shmat(id, nullptr, 0);
    if (addr == kFailed) continue;
    long rc = 0;
    for (int tries = 0; tries < 1000 && (rc = syscall(SYS_remap_file_pages, addr, PageSize(), 0, 0, 0)) == 0; ++tries) {
    }
    const int err = errno;
    if (rc != 0) {
      ++races_seen;
      EXPECT_THAT(err, AnyOf(Eq(EINVAL), Eq(EIDRM))) << "remap_file_pages failed with " << DescribeErrno(err);
    }
    // remap_file_pages may have replaced the attachment: then shmdt fails and
    // the replacement is unmapped directly.
    if (shmdt(addr) != 0) munmap(addr, PageSize());
  }
  stop = true;
  remover.join();
  const int left = shmget(key, 0, 0);
  if (left >= 0) shmctl(left, IPC_RMID, nullptr);
  EXPECT_EQ(remover_error.load(), 0) << DescribeErrno(remover_error.load());
  RecordProperty("rounds", rounds);
  RecordProperty("races_seen", races_seen);
#endif
}

// A partial munmap splits an attachment; each piece left counts as an
// attachment (shm_nattch), and shmdt at the attach address detaches every
// piece, even when the first page itself is already gone.
TEST(SysvRegressionTest, PartialMunmapKeepsTheRestAttachedUntilShmdt) {
  REQUIREMENTS("SYSV.SHMDT.AFTER_PARTIAL_MUNMAP");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, 3 * PageSize(), IPC_CREAT | 0600));
  {
    char* a = static_cast<char*>(shmat(seg.id(), nullptr, 0));
    ASSERT_THAT(a, SyscallSucceeds());
    ASSERT_THAT(munmap(a + PageSize(), PageSize()), SyscallSucceeds());
    EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_nattch, 2u) << "two pieces left, each an attachment";
    EXPECT_THAT(shmdt(a), SyscallSucceeds());
    EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_nattch, 0u);
    EXPECT_FALSE(FindMapsEntry(a).has_value());
    EXPECT_FALSE(FindMapsEntry(a + 2 * PageSize()).has_value()) << "the piece after the hole is still attached";
  }
  {
    char* a = static_cast<char*>(shmat(seg.id(), nullptr, 0));
    ASSERT_THAT(a, SyscallSucceeds());
    ASSERT_THAT(munmap(a, PageSize()), SyscallSucceeds());
    EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_nattch, 1u);
    EXPECT_THAT(shmdt(a), SyscallSucceeds()) << "the first page is gone, the rest of the attachment is not";
    EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_nattch, 0u);
    EXPECT_FALSE(FindMapsEntry(a + PageSize()).has_value());
    EXPECT_THAT(shmdt(a), SyscallFailsWithErrno(EINVAL));
  }
}

// Linux 6.4 to 6.7 merged two pieces of an attachment that mprotect had made
// alike without calling the removed piece's close, so shm_nattch never
// returned to 0 and a segment marked for removal was never destroyed.
TEST(SysvRegressionTest, MprotectSplitAndMergeLeavesNoAttachCountBehind) {
  REQUIREMENTS("SYSV.REGRESSION.MPROTECT_MERGE_NATTCH");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, 3 * PageSize(), IPC_CREAT | 0600));
  const int id = seg.id();
  char* a = static_cast<char*>(shmat(id, nullptr, 0));
  ASSERT_THAT(a, SyscallSucceeds());
  ASSERT_THAT(mprotect(a + PageSize(), PageSize(), PROT_NONE), SyscallSucceeds());  // three pieces
  ASSERT_THAT(mprotect(a, 2 * PageSize(), PROT_READ), SyscallSucceeds());           // first two alike again
  EXPECT_GE(ASSERT_NO_ERRNO_AND_VALUE(StatOf(id)).shm_nattch, 1u);
  ASSERT_THAT(shmctl(id, IPC_RMID, nullptr), SyscallSucceeds());
  ASSERT_THAT(shmdt(a), SyscallSucceeds());
  shmid_ds ds{};
  const int stat = shmctl(id, IPC_STAT, &ds);
  EXPECT_THAT(stat, SyscallFailsWithErrno(EINVAL)) << "segment still exists with shm_nattch " << ds.shm_nattch;
  if (stat != 0) seg.release();
}

}  // namespace
}  // namespace shmconform::sysv
