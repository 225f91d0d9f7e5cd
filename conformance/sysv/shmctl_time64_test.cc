// shmctl through the C library's 64-bit time_t interface (variant
// "libc-time64"), against the raw system call.
//
// This file alone is compiled with -D_TIME_BITS=64 -D_FILE_OFFSET_BITS=64
// (conformance/CMakeLists.txt). On 32-bit targets glibc (2.34 and later) then
// sends shmctl to __shmctl64, which asks the kernel for its shmid64_ds
// (IPC_64), joins each time's low and high words into a 64-bit time_t and
// copies the rest into a struct shmid_ds of another layout; IPC_SET converts
// the other way. The rest of the suite keeps the default time_t (32-bit
// there, unless the whole build sets _TIME_BITS=64, as Debian 13 does on
// armhf), so both of glibc's paths are checked.
//
// Sharing one binary with 32-bit time_t code is safe only because this file
// calls nothing whose layout or behaviour depends on time_t, off_t or struct
// stat across files: no sysv_util.h (StatOf and KernelSeconds would be the
// same symbols with two different bodies), no futex.h; its own helpers have
// internal linkage.
#include <sys/ipc.h>
#include <sys/shm.h>
#include <time.h>

#include <cstdint>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/kernel_version.h"
#include "shmconform/raw_syscalls.h"
#include "shmconform/shmconform.h"

namespace shmconform::sysv {
namespace {

static_assert(sizeof(time_t) == 8, "this file must be compiled with -D_TIME_BITS=64 (conformance/CMakeLists.txt)");

// An ABI fact, so decided when compiling: where glibc's time_t has always
// been 64-bit (__TIMESIZE 64: x86-64, aarch64, riscv64, ...) _TIME_BITS=64
// changes nothing and there is no second shmctl to check.
#if __TIMESIZE == 32
constexpr bool kSeparateTime64Interface = true;
#else
constexpr bool kSeparateTime64Interface = false;
#endif

constexpr char kVariant[] = "libc-time64,raw";
constexpr char kNoSeparateInterface[] =
    "time_t has always been 64-bit on this ABI (glibc __TIMESIZE 64): _TIME_BITS=64 selects no other shmctl, "
    "and ShmctlVariantTest compares glibc's only one with the raw system call";

// CLOCK_REALTIME_COARSE seconds, the clock the kernel stamps shm times with.
std::int64_t KernelNow() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return ts.tv_sec;
}

// Matches a stamp taken between two KernelNow() reads.
auto Between(std::int64_t before, std::int64_t after) {
  return ::testing::AllOf(::testing::Ge(before), ::testing::Le(after));
}

struct shmid64_ds RawStat(int id) {
  struct shmid64_ds ds {};
  EXPECT_THAT(raw::Shmctl(id, IPC_STAT, &ds), SyscallSucceeds());
  return ds;
}

class ShmctlTime64Test : public ::testing::Test {
 protected:
  void SetUp() override {
    RecordProperty("variant", kVariant);
    if (!kSeparateTime64Interface) GTEST_SKIP() << kNoSeparateInterface;
  }
};

// Every time distinct (creation, attach and detach each in a later second of
// the clock), so a conversion that mixes the times up shows; the values are
// also checked themselves, so a kernel and a C library that are wrong alike
// cannot agree. This process detaches itself: a child would do it only after
// fork, which stamps shm_atime again.
TEST_F(ShmctlTime64Test, StatAgreesWithTheRawSystemCallFieldByField) {
  REQUIREMENTS("SYSV.SHMCTL.STAT_RAW_AGREES");
  const std::int64_t start = KernelNow();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, 3 * PageSize(), IPC_CREAT | 0640));
  const std::int64_t created = KernelNow();
  const std::int64_t attaching = WaitForClockSecondAfter(created);
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id()));
  const std::int64_t attached = KernelNow();
  const std::int64_t detaching = WaitForClockSecondAfter(attached);
  ASSERT_THAT(shmdt(att.release()), SyscallSucceeds());
  const std::int64_t detached = KernelNow();

  shmid_ds libc{};
  ASSERT_THAT(shmctl(seg.id(), IPC_STAT, &libc), SyscallSucceeds());
  const struct shmid64_ds kernel = RawStat(seg.id());
  EXPECT_EQ(libc.shm_perm.__key, kernel.shm_perm.key);
  EXPECT_EQ(libc.shm_perm.uid, kernel.shm_perm.uid);
  EXPECT_EQ(libc.shm_perm.gid, kernel.shm_perm.gid);
  EXPECT_EQ(libc.shm_perm.cuid, kernel.shm_perm.cuid);
  EXPECT_EQ(libc.shm_perm.cgid, kernel.shm_perm.cgid);
  EXPECT_EQ(libc.shm_perm.mode, kernel.shm_perm.mode);
  EXPECT_EQ(libc.shm_segsz, kernel.shm_segsz);
  EXPECT_EQ(libc.shm_atime, raw::AtimeOf(kernel));
  EXPECT_EQ(libc.shm_dtime, raw::DtimeOf(kernel));
  EXPECT_EQ(libc.shm_ctime, raw::CtimeOf(kernel));
  EXPECT_EQ(libc.shm_cpid, kernel.shm_cpid);
  EXPECT_EQ(libc.shm_lpid, kernel.shm_lpid);
  EXPECT_EQ(libc.shm_nattch, kernel.shm_nattch);

  EXPECT_EQ(kernel.shm_segsz, 3 * PageSize());
  EXPECT_EQ(kernel.shm_perm.mode & 0777, 0640u);
  EXPECT_EQ(kernel.shm_cpid, getpid());
  EXPECT_EQ(kernel.shm_lpid, getpid());
  EXPECT_EQ(kernel.shm_nattch, 0u);
  EXPECT_THAT(raw::CtimeOf(kernel), Between(start, created));
  EXPECT_THAT(raw::AtimeOf(kernel), Between(attaching, attached));
  EXPECT_THAT(raw::DtimeOf(kernel), Between(detaching, detached));
}

// IPC_SET converts the caller's 64-bit-time structure back into the kernel's:
// the owner and mode set through it must be what the kernel holds, the
// creator untouched, and the change stamped in a later second than creation.
// The owner is set to what it was (another uid may not be mapped in a user
// namespace); a garbled conversion still shows, as EINVAL or another owner.
TEST_F(ShmctlTime64Test, SetReachesTheKernelAndStampsCtime) {
  REQUIREMENTS("SYSV.SHMCTL.SET_FIELDS");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  const struct shmid64_ds created = RawStat(seg.id());
  const std::int64_t before = WaitForClockSecondAfter(raw::CtimeOf(created));

  shmid_ds ds{};
  ASSERT_THAT(shmctl(seg.id(), IPC_STAT, &ds), SyscallSucceeds());
  ds.shm_perm.uid = created.shm_perm.uid;
  ds.shm_perm.gid = created.shm_perm.gid;
  ds.shm_perm.mode = 0640;
  ASSERT_THAT(shmctl(seg.id(), IPC_SET, &ds), SyscallSucceeds());
  const std::int64_t after = KernelNow();

  const struct shmid64_ds now = RawStat(seg.id());
  EXPECT_EQ(now.shm_perm.uid, created.shm_perm.uid);
  EXPECT_EQ(now.shm_perm.gid, created.shm_perm.gid);
  EXPECT_EQ(now.shm_perm.mode & 0777, 0640u);
  EXPECT_EQ(now.shm_perm.cuid, created.shm_perm.cuid);
  EXPECT_EQ(now.shm_perm.cgid, created.shm_perm.cgid);
  EXPECT_THAT(raw::CtimeOf(now), Between(before, after)) << "created at " << raw::CtimeOf(created);
}

// The other commands __shmctl64 handles. IPC_INFO and SHM_INFO fill
// structures that are no shmid_ds (a conversion that took them for one would
// corrupt them); SHM_STAT fills a shmid_ds found by slot index. In a fresh IPC
// namespace the table holds only this segment, in slot 0, so every answer
// (return values included) is fixed while both paths ask. Runs in the child.
void CompareInfoAndStatBySlot(size_t page) {
  const int id = shmget(IPC_PRIVATE, 3 * page, IPC_CREAT | 0600);
  CHILD_CHECK(id >= 0);

  shminfo limits{};
  struct shminfo64 raw_limits {};
  CHILD_CHECK_EQ(shmctl(0, IPC_INFO, reinterpret_cast<shmid_ds*>(&limits)), 0);
  CHILD_CHECK_EQ(syscall(SYS_shmctl, 0, IPC_INFO | raw::kIpc64, &raw_limits), 0);
  CHILD_CHECK_EQ(limits.shmmax, raw_limits.shmmax);
  CHILD_CHECK_EQ(limits.shmmin, raw_limits.shmmin);
  CHILD_CHECK_EQ(limits.shmmni, raw_limits.shmmni);
  CHILD_CHECK_EQ(limits.shmseg, raw_limits.shmseg);
  CHILD_CHECK_EQ(limits.shmall, raw_limits.shmall);
  CHILD_CHECK_EQ(limits.shmmin, 1);
  CHILD_CHECK_EQ(limits.shmseg, limits.shmmni);

  // glibc's struct shm_info is the kernel's (SHM_INFO has no IPC_64 form).
  shm_info usage{}, raw_usage{};
  CHILD_CHECK_EQ(shmctl(0, SHM_INFO, reinterpret_cast<shmid_ds*>(&usage)), 0);
  CHILD_CHECK_EQ(syscall(SYS_shmctl, 0, SHM_INFO, &raw_usage), 0);
  CHILD_CHECK_EQ(usage.used_ids, raw_usage.used_ids);
  CHILD_CHECK_EQ(usage.shm_tot, raw_usage.shm_tot);
  CHILD_CHECK_EQ(usage.shm_rss, raw_usage.shm_rss);
  CHILD_CHECK_EQ(usage.shm_swp, raw_usage.shm_swp);
  CHILD_CHECK_EQ(usage.used_ids, 1);
  CHILD_CHECK_EQ(usage.shm_tot, 3);

  shmid_ds by_slot{};
  struct shmid64_ds kernel {};
  CHILD_CHECK_EQ(shmctl(0, SHM_STAT, &by_slot), id);
  CHILD_CHECK_EQ(raw::Shmctl(id, IPC_STAT, &kernel), 0);
  CHILD_CHECK_EQ(by_slot.shm_perm.mode, kernel.shm_perm.mode);
  CHILD_CHECK_EQ(by_slot.shm_segsz, kernel.shm_segsz);
  CHILD_CHECK_EQ(by_slot.shm_segsz, 3 * page);
  CHILD_CHECK_EQ(by_slot.shm_atime, raw::AtimeOf(kernel));
  CHILD_CHECK_EQ(by_slot.shm_dtime, raw::DtimeOf(kernel));
  CHILD_CHECK_EQ(by_slot.shm_ctime, raw::CtimeOf(kernel));
  CHILD_CHECK(raw::CtimeOf(kernel) != 0);
  CHILD_CHECK_EQ(by_slot.shm_cpid, kernel.shm_cpid);
  CHILD_CHECK_EQ(by_slot.shm_nattch, kernel.shm_nattch);
}

TEST_F(ShmctlTime64Test, InfoAndStatBySlotAgreeWithTheRawSystemCall) {
  REQUIREMENTS("SYSV.SHMCTL.IPC_INFO", "SYSV.SHMCTL.SHM_INFO", "SYSV.SHMCTL.SHM_STAT");
  SKIP_UNLESS_FRESH_IPC_NAMESPACE();
  const size_t page = PageSize();
  EXPECT_THAT(RunInPrivateIpcNamespace([page] { CompareInfoAndStatBySlot(page); }), ExitedWithCode(0));
}

}  // namespace
}  // namespace shmconform::sysv
